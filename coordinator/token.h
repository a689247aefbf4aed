// The coordinator's bearer token: 32 random bytes as 64 hex digits in STATE_DIR/token —
// that file holds the token and nothing else, mode 0600 — made on the first start and
// read on every later one. Requests present it as `Authorization: Bearer TOKEN`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ty::coordinator {

struct Token {
  std::string value;
  std::string path;      // STATE_DIR/token
  bool created = false;  // made by this call
};

// Reads STATE_DIR/token, or makes it when there is none. A token file that is not 64 hex
// digits, or that others may read, is refused naming it.
absl::StatusOr<Token> load_or_create_token(const std::string& state_dir);

// The token of attempt `attempt` of job `job`: HMAC-SHA256 of "rendezvous/JOB/ATTEMPT" under
// the coordinator's token, 64 hex digits. A worker hands it to the attempt's ranks; it opens
// that attempt's rendezvous keys and nothing else, and needs no state to check.
std::string attempt_token(const std::string& token, int64_t job, int attempt);

// Whether `given` equals `expected`, in time that depends only on their lengths.
bool token_matches(std::string_view expected, std::string_view given);

}  // namespace ty::coordinator
