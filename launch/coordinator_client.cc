#include "launch/coordinator_client.h"

#include <httplib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "worker/job/exit_codes.h"

namespace ty {
namespace {

// Removes `--flag VALUE` from args; the value, or "" when absent.
absl::StatusOr<std::string> take_flag(std::vector<std::string>& args, const std::string& flag) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] != flag) continue;
    if (i + 1 == args.size()) return absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
    std::string v = args[i + 1];
    args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    return v;
  }
  return std::string();
}

absl::StatusOr<std::string> read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read a token from it"));
  return token;
}

}  // namespace

absl::StatusOr<CoordinatorAddress> coordinator_address(std::vector<std::string>& args) {
  CoordinatorAddress at;
  absl::StatusOr<std::string> url = take_flag(args, "--coordinator");
  if (!url.ok()) return url.status();
  absl::StatusOr<std::string> token_file = take_flag(args, "--token-file");
  if (!token_file.ok()) return token_file.status();
  absl::StatusOr<std::string> ca = take_flag(args, "--tls-ca");
  if (!ca.ok()) return ca.status();
  at.tls_ca = !ca->empty() ? *ca : std::getenv("TRAINYARD_TLS_CA") ? std::getenv("TRAINYARD_TLS_CA") : "";
  if (!at.tls_ca.empty()) {
    std::ifstream pem(at.tls_ca);
    if (!pem) return absl::InvalidArgumentError(absl::StrCat("--tls-ca ", at.tls_ca, ": cannot read it"));
  }
  at.url = !url->empty() ? *url : std::getenv("TRAINYARD_COORDINATOR") ? std::getenv("TRAINYARD_COORDINATOR") : "";
  if (at.url.empty())
    return absl::InvalidArgumentError(
        "where is the coordinator? give --coordinator http://HOST:PORT or set TRAINYARD_COORDINATOR");
  if (!absl::StartsWith(at.url, "http://") && !absl::StartsWith(at.url, "https://"))
    return absl::InvalidArgumentError(absl::StrCat("coordinator URL ", at.url, ": expected http://HOST:PORT or https://HOST:PORT"));
  if (!token_file->empty()) {
    absl::StatusOr<std::string> t = read_token(*token_file);
    if (!t.ok()) return t.status();
    at.token = *t;
  } else if (const char* t = std::getenv("TRAINYARD_TOKEN"); t && *t) {
    at.token = t;
  } else if (const char* dir = std::getenv("TRAINYARD_STATE_DIR"); dir && *dir) {
    absl::StatusOr<std::string> t = read_token(std::string(dir) + "/token");
    if (!t.ok()) return t.status();
    at.token = *t;
  } else {
    return absl::InvalidArgumentError(
        "no token: give --token-file FILE (the coordinator's STATE_DIR/token), or set TRAINYARD_TOKEN or "
        "TRAINYARD_STATE_DIR");
  }
  return at;
}

std::unique_ptr<httplib::Client> coordinator_client(const CoordinatorAddress& at) {
  auto client = std::make_unique<httplib::Client>(at.url);
  client->set_connection_timeout(10);
  client->set_read_timeout(60);
  client->set_default_headers({{"Authorization", "Bearer " + at.token}});
  if (!at.tls_ca.empty()) client->set_ca_cert_path(at.tls_ca.c_str());
  client->enable_server_certificate_verification(true);
  return client;
}

absl::Status no_answer(const CoordinatorAddress& at, httplib::Error error) {
  if (error == httplib::Error::SSLServerVerification)
    return absl::InvalidArgumentError(absl::StrCat("the coordinator at ", at.url,
                                                   ": its certificate is not trusted (give --tls-ca FILE or set "
                                                   "TRAINYARD_TLS_CA to the CA that signed it)"));
  return absl::UnavailableError(
      absl::StrCat("the coordinator at ", at.url, " does not answer (", httplib::to_string(error), ")"));
}

absl::StatusOr<HttpReply> call_coordinator(const CoordinatorAddress& at, const std::string& method,
                                           const std::string& path, const std::string& body) {
  std::unique_ptr<httplib::Client> client = coordinator_client(at);
  httplib::Result r = method == "POST" ? client->Post(path, body, "application/json") : client->Get(path);
  if (!r) return no_answer(at, r.error());
  return HttpReply{r->status, r->body, r->get_header_value("X-Trainyard-Next-Offset")};
}

int command_usage_error(const std::string& command, const std::string& message, const char* usage) {
  std::fprintf(stderr, "trainyard %s: %s\n%s", command.c_str(), message.c_str(), usage);
  return 2;
}

int command_error(const std::string& command, const absl::Status& st) {
  std::fprintf(stderr, "trainyard %s: error: %s\n", command.c_str(), std::string(st.message()).c_str());
  return static_cast<int>(exit_code_for(st));
}

}  // namespace ty
