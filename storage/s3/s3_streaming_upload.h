// S3StreamingUpload: an object written piece by piece, for files too large to hold twice
// (a checkpoint's rank file of a large model): each part of `part_bytes` goes up as soon as
// it fills, `parallel` at most in flight, so memory stays at about parallel + 1 parts.
// finish() completes the upload (one plain PUT when everything fit in one part). Until
// finish() succeeds nothing replaces the old object; a failure, or destruction before
// finish(), aborts the multipart upload.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "storage/s3/s3_client.h"

namespace ty {

class S3StreamingUpload {
 public:
  S3StreamingUpload(std::shared_ptr<S3Client> client, S3Url url, int64_t part_bytes = int64_t{16} << 20,
                    int parallel = 4);
  ~S3StreamingUpload();
  S3StreamingUpload(const S3StreamingUpload&) = delete;
  S3StreamingUpload& operator=(const S3StreamingUpload&) = delete;

  absl::Status write(const char* data, size_t n);
  absl::Status finish();
  int64_t bytes() const { return bytes_; }

 private:
  struct Part {
    std::string data;
    int number = 0;
    absl::Status status;
    std::string etag;
    std::thread thread;
  };
  absl::Status send_current();       // hands the filled part to a thread
  absl::Status wait_oldest();        // joins the oldest part in flight
  void abort();

  std::shared_ptr<S3Client> client_;
  S3Url url_;
  int64_t part_bytes_;
  int parallel_;
  std::string current_;
  std::string upload_id_;
  std::deque<std::unique_ptr<Part>> in_flight_;
  std::vector<std::string> etags_;  // by part number - 1
  int parts_ = 0;
  int64_t bytes_ = 0;
  absl::Status status_;
  bool done_ = false;
};

}  // namespace ty
