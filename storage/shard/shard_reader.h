// ShardReader: opens one shard, checks its header, footer and index (storage/FORMAT.md),
// and reads records by number with their CRC checked. Errors name the file, the record and
// the byte offset; no allocation is sized by an unchecked number from the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/shard/shard_schema.h"

namespace ty {
class S3Object;
}

namespace ty {

class ShardReader {
 public:
  // `path`: a file, or an object s3://bucket/key (read by ranged GETs, pinned to its ETag;
  // a header, footer or index that fails its checks is read once more before it is an error).
  static absl::StatusOr<ShardReader> open(const std::string& path);
  ShardReader(ShardReader&& o) noexcept;
  ShardReader& operator=(ShardReader&& o) noexcept;
  ~ShardReader();

  const std::string& path() const { return path_; }
  const ShardSchema& schema() const { return schema_; }
  int64_t records() const { return records_; }
  int64_t file_bytes() const { return file_bytes_; }
  // The object an s3:// shard is read from (its ETag pinned since open), or null for a file.
  const std::shared_ptr<const S3Object>& remote() const { return remote_; }

  // Byte offset of record i in the file.
  int64_t record_offset(int64_t i) const;
  // Reads records [first, first + count) into `out` (count * payload_bytes(), CRCs
  // stripped), checking each CRC.
  absl::Status read(int64_t first, int64_t count, void* out) const;
  // Every record in order, read in batches of about 4 MiB with CRCs checked: `each` gets
  // the record number and its payload (valid during the call). A corrupt record is the
  // error, or with `skip_corrupt` is left out and counted in `*skipped`; an error from
  // `each` stops the scan.
  absl::Status scan(bool skip_corrupt, const std::function<absl::Status(int64_t, const char*)>& each,
                    int64_t* skipped = nullptr) const;
  // Reads every record; the first bad one is the error.
  absl::Status verify() const;

 private:
  ShardReader() = default;
  static absl::StatusOr<ShardReader> open_once(const std::string& path);
  // Exactly `n` bytes at `offset`; short is kDataLoss naming the file and offset.
  absl::Status read_bytes(void* buf, size_t n, int64_t offset) const;
  std::string path_;
  int fd_ = -1;
  std::shared_ptr<const S3Object> remote_;  // instead of fd_
  ShardSchema schema_;
  int64_t file_bytes_ = 0, records_ = 0;
  struct Chunk {
    int64_t offset;
    int64_t first_record;
    int64_t records;
  };
  std::vector<Chunk> chunks_;
};

}  // namespace ty
