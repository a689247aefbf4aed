// Shards of small u8 "images" for the GPU data path's tests: record i holds x[k] =
// (i * 7 + k * 13) % 256 (k < features) and the label y = i % classes, in chunks of
// `chunk_bytes` (records of one read cross chunk padding).
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "storage/shard/shard_writer.h"

namespace ty {

inline uint8_t image_byte(int64_t record, int64_t k) { return static_cast<uint8_t>((record * 7 + k * 13) % 256); }

inline std::vector<std::string> write_image_shards(const std::string& prefix, int64_t n, int64_t features,
                                                   int32_t classes, int64_t shard_bytes = 64 * 1024,
                                                   int64_t chunk_bytes = 5000) {
  ShardSchema s;
  s.fields.push_back({"x", DType::kU8, {features}});
  s.fields.push_back({"y", DType::kI32, {}});
  ShardWriterOptions o;
  o.shard_bytes = shard_bytes;
  o.chunk_bytes = chunk_bytes;
  ShardWriter w(prefix, s, o);
  std::vector<char> rec(static_cast<size_t>(features + 4));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < features; ++k) rec[k] = static_cast<char>(image_byte(i, k));
    const int32_t y = static_cast<int32_t>(i % classes);
    std::memcpy(rec.data() + features, &y, 4);
    EXPECT_TRUE(w.add(rec.data()).ok());
  }
  auto paths = w.finish();
  EXPECT_TRUE(paths.ok()) << paths.status();
  return paths.ok() ? *paths : std::vector<std::string>{};
}

}  // namespace ty
