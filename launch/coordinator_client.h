// What every command that talks to the coordinator shares: where it is (`--coordinator
// URL` or TRAINYARD_COORDINATOR) and its token (`--token-file F`, TRAINYARD_TOKEN, or the
// token file of TRAINYARD_STATE_DIR — the coordinator's --state-dir on this host).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

struct CoordinatorAddress {
  std::string url;    // http://HOST:PORT or https://HOST:PORT
  std::string token;  // the bearer token
};

// Takes --coordinator and --token-file out of `args` (the rest is left) and resolves both;
// errors say which flag or variable to set.
absl::StatusOr<CoordinatorAddress> coordinator_address(std::vector<std::string>& args);

struct HttpReply {
  int status = 0;
  std::string body;
  std::string next_offset;  // X-Trainyard-Next-Offset (logs)
};

// One request to the coordinator (method GET or POST, JSON body); a coordinator that does
// not answer is an error naming its URL.
absl::StatusOr<HttpReply> call_coordinator(const CoordinatorAddress& at, const std::string& method,
                                           const std::string& path, const std::string& body = "");

// "trainyard COMMAND: MESSAGE" and the usage on stderr; exit code 2.
int command_usage_error(const std::string& command, const std::string& message, const char* usage);
// "trainyard COMMAND: error: ..." on stderr; the exit code of the status's class (DESIGN.md).
int command_error(const std::string& command, const absl::Status& st);

}  // namespace ty
