#include "comm/rendezvous/http_store.h"

#include <httplib.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"

namespace ty::rendezvous {
namespace {

// Keys travel in the path: the coordinator takes [A-Za-z0-9._:/-], which need no escaping.
bool plain_key(const std::string& key) {
  for (char c : key)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == ':' || c == '/' || c == '-'))
      return false;
  return !key.empty() && key.size() <= 256 && key.find("..") == std::string::npos &&
         key.find("//") == std::string::npos && key.front() != '/' && key.back() != '/';
}

absl::Status bad_key(const std::string& key) {
  return absl::InvalidArgumentError(
      absl::StrCat("rendezvous key '", key,
                   "': the coordinator's store takes 1 to 256 of [A-Za-z0-9._:/-], without \"..\" or empty segments"));
}

}  // namespace

HttpStore::HttpStore(std::string url, std::string base, std::unique_ptr<httplib::Client> client)
    : url_(std::move(url)), base_(std::move(base)), client_(std::move(client)) {}

HttpStore::~HttpStore() = default;

absl::StatusOr<std::unique_ptr<HttpStore>> HttpStore::connect(const std::string& url, const std::string& token,
                                                              int64_t job, int attempt, Clock::time_point deadline) {
  std::string root = url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  auto client = std::make_unique<httplib::Client>(root);
  if (!client->is_valid())
    return absl::InvalidArgumentError(absl::StrCat(url, ": not a coordinator URL (http://HOST:PORT or https://HOST:PORT)"));
  client->set_connection_timeout(2);
  client->set_read_timeout(10);
  client->set_write_timeout(10);
  client->set_default_headers({{"Authorization", "Bearer " + token}});
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (const char* ca = std::getenv("TRAINYARD_TLS_CA"); ca != nullptr && *ca != '\0') client->set_ca_cert_path(ca);
  client->enable_server_certificate_verification(true);
#endif
  std::unique_ptr<HttpStore> store(
      new HttpStore(root, absl::StrCat("/api/v1/rendezvous/", job, "/", attempt), std::move(client)));
  absl::StatusOr<std::pair<int, std::string>> hello = store->request("GET", store->base_, "", deadline);
  if (!hello.ok()) return hello.status();
  if (hello->first != 200)
    return absl::FailedPreconditionError(absl::StrCat(store->describe(), ": ", hello->second));
  return store;
}

absl::StatusOr<std::pair<int, std::string>> HttpStore::request(const std::string& method, const std::string& path,
                                                               const std::string& body, Clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  auto nap = std::chrono::milliseconds(20);
  for (;;) {
    httplib::Result res = method == "PUT" ? client_->Put(path, body, "application/octet-stream") : client_->Get(path);
    if (res) {
      if (res->status == 401)
        return absl::PermissionDeniedError(
            absl::StrCat(url_, base_, ": the coordinator refused this rank's token (TRAINYARD_RENDEZVOUS_TOKEN)"));
      if (res->status == 200 || res->status == 404) return std::make_pair(res->status, res->body);
      if (res->status < 500)  // refused (409: the attempt ended); asking again will not help
        return absl::FailedPreconditionError(absl::StrCat(url_, path, ": HTTP ", res->status, ": ", res->body));
    }
    // No answer, or a 5xx: the coordinator may be restarting; its keys survive that.
    if (Clock::now() + nap > deadline)
      return absl::UnavailableError(absl::StrCat(
          url_, path, ": the coordinator's rendezvous store does not answer (",
          res ? absl::StrCat("HTTP ", res->status) : httplib::to_string(res.error()), ")"));
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::milliseconds(500));
  }
}

absl::Status HttpStore::set(const std::string& key, const std::string& value) {
  if (!plain_key(key)) return bad_key(key);
  absl::StatusOr<std::pair<int, std::string>> res =
      request("PUT", absl::StrCat(base_, "/", key), value, Clock::now() + std::chrono::seconds(60));
  if (!res.ok()) return res.status();
  if (res->first != 200) return absl::InternalError(absl::StrCat(describe(), ": setting '", key, "': ", res->second));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> HttpStore::lookup(const std::string& key, Clock::time_point deadline) {
  if (!plain_key(key)) return bad_key(key);
  // A lookup itself may outlast the wait's deadline by a little: a coordinator that is
  // restarting gets a few seconds.
  absl::StatusOr<std::pair<int, std::string>> res =
      request("GET", absl::StrCat(base_, "/", key), "", std::max(deadline, Clock::now() + std::chrono::seconds(5)));
  if (!res.ok()) return res.status();
  if (res->first == 404) return std::optional<std::string>();
  return std::optional<std::string>(std::move(res->second));
}

absl::Status HttpStore::wait(const std::vector<std::string>& keys, Clock::time_point deadline) {
  return poll_keys(describe(), keys, deadline, [&](const std::string& k) -> absl::StatusOr<bool> {
    absl::StatusOr<std::optional<std::string>> v = lookup(k, deadline);
    if (!v.ok()) return v.status();
    return v->has_value();
  });
}

absl::StatusOr<std::string> HttpStore::get(const std::string& key, Clock::time_point deadline) {
  std::optional<std::string> found;
  absl::Status st = poll_keys(describe(), {key}, deadline, [&](const std::string& k) -> absl::StatusOr<bool> {
    absl::StatusOr<std::optional<std::string>> v = lookup(k, deadline);
    if (!v.ok()) return v.status();
    if (v->has_value()) found = std::move(*v);
    return found.has_value();
  });
  if (!st.ok()) return st;
  return *found;
}

}  // namespace ty::rendezvous
