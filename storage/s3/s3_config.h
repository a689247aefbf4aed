// S3Config: where the object store is and who we are to it, read the way AWS's own tools
// read it, so a user's existing setup works as is:
//   endpoint     storage.s3.endpoint, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; with
//                one, requests are path-style (ENDPOINT/bucket/key); without, they go to
//                https://bucket.s3.REGION.amazonaws.com/key.
//   region       AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region, else us-east-1.
//   credentials  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the
//                profile AWS_PROFILE (default "default") of AWS_SHARED_CREDENTIALS_FILE
//                (default ~/.aws/credentials).
// Retries (TRAINYARD_S3_MAX_ATTEMPTS, default 6): 5xx, 429, connection resets, stalls and
// truncated bodies are retried after a back-off of uniform(0, min(cap, base * 2^attempt))
// ("full jitter"; base 100 ms, cap 5 s). A request that moves fewer than 1 KiB/s for
// TRAINYARD_S3_STALL_S (default 20) seconds counts as stalled.
// The secret never appears in an error, a log line or describe().
#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "storage/s3/sigv4.h"

namespace ty {

struct S3Config {
  std::string endpoint;  // "http://127.0.0.1:8089" or "" (AWS)
  std::string region = "us-east-1";
  SigV4Credentials credentials;
  std::string credentials_from;  // where they were found, for messages
  int max_attempts = 6;
  std::chrono::milliseconds backoff_base{100}, backoff_cap{5000};
  int stall_seconds = 20;
  std::chrono::milliseconds connect_timeout{10000};

  // "endpoint http://127.0.0.1:8089, region us-east-1, credentials from AWS_ACCESS_KEY_ID"
  std::string describe() const;
};

// The configuration from the environment (see above); `endpoint` (storage.s3.endpoint)
// overrides the variables when set. An error when there are no credentials says where it looked.
absl::StatusOr<S3Config> s3_config_from_environment(const std::string& endpoint = "");

}  // namespace ty
