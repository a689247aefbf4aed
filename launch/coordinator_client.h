// What every command that talks to the coordinator shares: where it is (`--coordinator
// URL` or TRAINYARD_COORDINATOR) and its token (`--token-file F`, TRAINYARD_TOKEN, or the
// token file of TRAINYARD_STATE_DIR — the coordinator's --state-dir on this host).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace httplib {
class Client;
enum class Error;
}

namespace ty {

struct CoordinatorAddress {
  std::string url;     // http://HOST:PORT or https://HOST:PORT
  std::string token;   // the bearer token
  std::string tls_ca;  // PEM file of the CA that signed an https coordinator's certificate;
                       // "" for the system's CAs
};

// Takes --coordinator, --token-file and --tls-ca out of `args` (the rest is left) and
// resolves them (also from TRAINYARD_COORDINATOR, TRAINYARD_TOKEN, TRAINYARD_STATE_DIR and
// TRAINYARD_TLS_CA); errors say which flag or variable to set.
absl::StatusOr<CoordinatorAddress> coordinator_address(std::vector<std::string>& args);

struct HttpReply {
  int status = 0;
  std::string body;
  std::string next_offset;  // X-Trainyard-Next-Offset (logs)
};

// An HTTP client for the coordinator: its token, and for https its certificate checked
// against `tls_ca` (or the system's CAs).
std::unique_ptr<httplib::Client> coordinator_client(const CoordinatorAddress& at);

// Why a request got no answer: a certificate that is not trusted is the user's to fix
// (InvalidArgument, naming --tls-ca); anything else is Unavailable. Both name the URL.
absl::Status no_answer(const CoordinatorAddress& at, httplib::Error error);

// One request to the coordinator (method GET or POST, JSON body); a coordinator that does
// not answer is an error naming its URL.
absl::StatusOr<HttpReply> call_coordinator(const CoordinatorAddress& at, const std::string& method,
                                           const std::string& path, const std::string& body = "");

// "trainyard COMMAND: MESSAGE" and the usage on stderr; exit code 2.
int command_usage_error(const std::string& command, const std::string& message, const char* usage);
// "trainyard COMMAND: error: ..." on stderr; the exit code of the status's class (DESIGN.md).
int command_error(const std::string& command, const absl::Status& st);

}  // namespace ty
