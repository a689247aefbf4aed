// S3Client: the S3 calls trainyard needs, signed with SigV4 (sigv4.h) and sent over libcurl
// (http_transfer.h) to any S3-compatible store: HEAD, ranged GET pinned to an ETag, PUT (also
// conditional: If-None-Match: *), multipart upload with parts in parallel, DELETE,
// ListObjectsV2 (paged). Safe to call from many threads at once; each thread keeps its own
// connection.
//
// Every call retries what a store or network does now and then — 5xx, 429 SlowDown,
// connection refused or reset, a stall, a body cut short — with back-off and jitter
// (S3Config), logs each retry on stderr, counts it in stats(), and gives up with
// kUnavailable (exit class 3, retryable) naming the object and the last cause. Answers that
// a retry cannot change come back at once:
//   404 -> kNotFound, 403 -> kPermissionDenied (check the credentials), 412 -> kFailedPrecondition
//   (the ETag or If-None-Match condition failed), 501 -> kUnimplemented, other 4xx ->
//   kInvalidArgument with S3's error code and message.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/s3/s3_config.h"
#include "storage/s3/s3_url.h"

namespace ty {

struct S3ObjectInfo {
  std::string key;
  int64_t size = 0;
  std::string etag;        // as the store quotes it
  int64_t modified = 0;    // HEAD: Last-Modified (unix seconds), by the store's clock
  int64_t store_time = 0;  // HEAD: the store's clock when it answered (Date)
};

struct S3Stats {
  int64_t requests = 0, retries = 0, failures = 0;
  int64_t bytes_read = 0, bytes_written = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Config config);
  const S3Config& config() const { return config_; }

  absl::StatusOr<S3ObjectInfo> head(const S3Url& url);
  // Bytes [offset, offset + length) into `dst`. With `etag`, the object must still be that
  // version (If-Match): otherwise kFailedPrecondition, naming the object as replaced.
  absl::Status read(const S3Url& url, int64_t offset, int64_t length, const std::string& etag, char* dst);
  // The whole object: its size from a HEAD, then ranged GETs of 16 MiB, 4 in flight, pinned
  // to its ETag (an object replaced meanwhile is read again from the start, once).
  absl::StatusOr<std::string> get(const S3Url& url);
  // One PUT. `if_absent`: only when no object has the key (If-None-Match: *): kAlreadyExists
  // when one does, kUnimplemented when the store does not support conditional writes.
  absl::Status put(const S3Url& url, std::string_view data, bool if_absent = false);
  // A PUT, or above `part_bytes` a multipart upload with `parallel` parts in flight; a
  // failed upload is aborted (no parts left behind) and nothing replaces the old object.
  absl::Status upload(const S3Url& url, const char* data, int64_t size, int64_t part_bytes = int64_t{16} << 20,
                      int parallel = 4);
  absl::Status remove(const S3Url& url);  // absent objects are not an error
  // Every object whose key starts with url.key, in key order, read `page` keys a request.
  absl::StatusOr<std::vector<S3ObjectInfo>> list(const S3Url& prefix, int page = 1000);
  absl::Status create_bucket(const std::string& bucket);  // an existing one of ours is fine

  S3Stats stats() const;

  // The steps of a multipart upload, for S3StreamingUpload (upload() runs them itself).
  absl::StatusOr<std::string> start_multipart(const S3Url& url);
  absl::StatusOr<std::string> upload_part(const S3Url& url, const std::string& upload_id, int part, const char* data,
                                          int64_t size);
  // Completes with the parts' ETags in order; `size`: the whole object's, to recognize a
  // retried complete whose first attempt completed.
  absl::Status complete_multipart(const S3Url& url, const std::string& upload_id, const std::vector<std::string>& etags,
                                  int64_t size);
  void abort_multipart(const S3Url& url, const std::string& upload_id);  // best effort

 private:
  struct Call;
  absl::StatusOr<struct HttpResponse> send(const Call& call);

  S3Config config_;
  std::string host_;      // endpoint host[:port]
  std::string base_url_;  // endpoint scheme://host[:port]
  std::atomic<int64_t> requests_{0}, retries_{0}, failures_{0}, bytes_read_{0}, bytes_written_{0};
};

// The process's client, configured from the environment at first use (s3_config.h);
// `storage.s3.endpoint` reaches it through set_s3_endpoint() before then.
absl::StatusOr<std::shared_ptr<S3Client>> shared_s3_client();
void set_s3_endpoint(const std::string& endpoint);
// The process client's counters; zeros when no s3:// path was used.
S3Stats shared_s3_stats();

}  // namespace ty
