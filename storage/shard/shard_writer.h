// ShardWriter: appends fixed-size records to shards PREFIX-00000.tyshard, PREFIX-00001...,
// starting a new shard at the target size; each shard is written under a temporary name,
// fsynced and renamed into place (storage/FORMAT.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "storage/shard/shard_schema.h"

namespace ty {

struct ShardWriterOptions {
  int64_t shard_bytes = int64_t{256} << 20;  // target size of one shard
  int64_t chunk_bytes = int64_t{1} << 20;    // records per 4 KiB-aligned chunk
};

class ShardWriter {
 public:
  ShardWriter(std::string prefix, ShardSchema schema, ShardWriterOptions options = {});
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // One record: the fields' bytes in schema order (payload_bytes() long).
  absl::Status add(const void* payload);
  // Closes the last shard. Returns the paths written.
  absl::StatusOr<std::vector<std::string>> finish();
  int64_t records() const { return total_records_; }

 private:
  absl::Status open_shard();
  absl::Status close_shard();
  absl::Status close_chunk();
  absl::Status write(const void* data, size_t n);
  absl::Status pad_to_alignment();

  std::string prefix_;
  ShardSchema schema_;
  ShardWriterOptions options_;
  FILE* file_ = nullptr;
  std::string tmp_path_, path_;
  int64_t offset_ = 0;
  struct Chunk {
    uint64_t offset;
    uint32_t records;
  };
  std::vector<Chunk> chunks_;
  int64_t chunk_records_ = 0, shard_records_ = 0, total_records_ = 0;
  std::vector<std::string> written_;
  absl::Status schema_status_;  // the schema within the format's limits
};

}  // namespace ty
