// One HTTP request over libcurl, reusing a connection per thread (keep-alive): the transport
// under S3Client. It knows nothing of S3; a transport failure (refused, reset, stalled,
// body cut short) is kUnavailable with curl's reason, and any status comes back as is.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "storage/s3/sigv4.h"

#include "absl/status/statusor.h"

namespace ty {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  HttpHeaders headers;
  const char* body = nullptr;  // PUT/POST payload
  size_t body_size = 0;
  // A 2xx body goes here (exactly `sink_size` bytes expected) instead of into `body`.
  char* sink = nullptr;
  size_t sink_size = 0;
  int stall_seconds = 20;  // under 1 KiB/s for this long: a stall
  std::chrono::milliseconds connect_timeout{10000};
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;   // names lower-case
  std::string body;      // non-2xx bodies, and 2xx ones without a sink (capped)
  size_t sink_bytes = 0; // bytes written to the sink
  std::string header(const std::string& lower_name) const;
};

absl::StatusOr<HttpResponse> http_transfer(const HttpRequest& request);

}  // namespace ty
