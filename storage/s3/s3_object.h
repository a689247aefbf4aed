// S3Object: one object opened for positioned reads, as a file is with pread(2): its size and
// ETag are taken once at open (HEAD), and every read is a ranged GET pinned to that ETag
// (If-Match), so an object replaced during a run is an error naming it, never a mix of two
// versions. Reads run on the process's S3Client (retries, back-off); any number of threads
// may read at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/s3/s3_client.h"

namespace ty {

class S3Object {
 public:
  static absl::StatusOr<std::shared_ptr<const S3Object>> open(const std::string& url);
  static absl::StatusOr<std::shared_ptr<const S3Object>> open(std::shared_ptr<S3Client> client, const S3Url& url);

  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }
  const std::string& etag() const { return etag_; }
  // Bytes [offset, offset + length) into `dst`; past the end is kDataLoss naming the object.
  absl::Status read(int64_t offset, int64_t length, char* dst) const;

 private:
  std::shared_ptr<S3Client> client_;
  S3Url url_;
  std::string path_, etag_;
  int64_t size_ = 0;
};

// The objects whose URL matches `pattern` (s3://bucket/prefix*: '*', '?' and [...] as in
// glob(3), not across '/'), sorted; a pattern without wildcards names one object.
absl::StatusOr<std::vector<std::string>> expand_s3_glob(const std::string& pattern);

}  // namespace ty
