// The schema of a shard (see storage/FORMAT.md): named fields of fixed dtype and shape,
// and its encoding in the shard header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace ty {

struct ShardField {
  std::string name;
  DType dtype = DType::kF32;
  Shape dims;  // per record
  int64_t bytes() const { return shape_numel(dims) * static_cast<int64_t>(dtype_size(dtype)); }
  bool operator==(const ShardField&) const = default;
};

struct ShardSchema {
  std::vector<ShardField> fields;

  int64_t payload_bytes() const;  // one record without its CRC
  int64_t record_bytes() const { return payload_bytes() + 4; }
  int field_index(const std::string& name) const;  // -1 if absent
  int64_t field_offset(int index) const;           // within a record
  std::string describe() const;                    // "x: u8 (1, 28, 28), y: i32 ()"
  bool operator==(const ShardSchema&) const = default;

  // Header bytes (magic, version, fields, CRC), not yet padded to 4096.
  std::string encode_header() const;
  // Parses and checks a header; errors name `path` and the byte offset.
  static absl::StatusOr<ShardSchema> decode_header(const std::string& path, const char* data, size_t size);
};

constexpr int64_t kShardAlign = 4096;
constexpr char kShardMagic[8] = {'T', 'Y', 'S', 'H', 'A', 'R', 'D', '\0'};
constexpr char kShardIndexMagic[8] = {'T', 'Y', 'S', 'H', 'I', 'D', 'X', '\0'};
constexpr uint32_t kShardVersion = 1;
constexpr int64_t kShardFooterBytes = 40;
constexpr int64_t kShardMaxRecordBytes = int64_t{64} << 20;

}  // namespace ty
