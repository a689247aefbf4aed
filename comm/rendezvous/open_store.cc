#include "comm/rendezvous/open_store.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "comm/rendezvous/file_store.h"
#include "comm/rendezvous/http_store.h"
#include "comm/rendezvous/tcp_store.h"

namespace ty::rendezvous {
namespace {

// The job's keys of a store it owns, with the server it hosts (rank 0 of tcp://).
class JobStore final : public Store {
 public:
  JobStore(std::unique_ptr<TcpStoreServer> server, std::unique_ptr<Store> base, std::string prefix)
      : server_(std::move(server)), base_(std::move(base)), scoped_(*base_, std::move(prefix)) {}
  absl::Status set(const std::string& key, const std::string& value) override { return scoped_.set(key, value); }
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override {
    return scoped_.wait(keys, deadline);
  }
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override {
    return scoped_.get(key, deadline);
  }
  std::string describe() const override { return scoped_.describe(); }

 private:
  std::unique_ptr<TcpStoreServer> server_;  // declared first: outlives the connections
  std::unique_ptr<Store> base_;
  PrefixStore scoped_;
};

absl::Status bad_url(const std::string& url, const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("TRAINYARD_RENDEZVOUS=", url, ": ", why, " (expected file:///shared/dir, tcp://HOST:PORT or the coordinator's http(s)://HOST:PORT)"));
}

}  // namespace

absl::StatusOr<std::shared_ptr<Store>> open_store(const StoreAddress& address, int rank,
                                                  Store::Clock::time_point deadline) {
  const std::string& url = address.url;
  const std::string prefix = absl::StrCat(address.job_id, "/", address.attempt);
  if (absl::StartsWith(url, "file://")) {
    const std::string dir = url.substr(7);
    if (dir.empty() || dir[0] != '/') return bad_url(url, "a file store needs an absolute directory");
    auto store = FileStore::open(dir);
    if (!store.ok()) return store.status();
    return std::make_shared<JobStore>(nullptr, std::move(*store), prefix);
  }
  if (absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://")) {
    // The coordinator's store: its path holds the job and attempt, so no prefix is needed.
    int64_t job = 0;
    if (!absl::SimpleAtoi(address.job_id, &job) || job <= 0)
      return bad_url(url, absl::StrCat("the coordinator's store needs TRAINYARD_JOB_ID to be its job number, not '",
                                       address.job_id, "'"));
    auto store = HttpStore::connect(url, address.token, job, address.attempt, deadline);
    if (!store.ok()) return store.status();
    return std::shared_ptr<Store>(std::move(*store));
  }
  if (!absl::StartsWith(url, "tcp://")) return bad_url(url, "unknown scheme");
  const std::string hostport = url.substr(6);
  const size_t colon = hostport.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(hostport.substr(colon + 1), &port) || port < 1 ||
      port > 65535)
    return bad_url(url, "a tcp store needs HOST:PORT with a port from 1 to 65535");
  std::string host = hostport.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);  // [::1]
  std::unique_ptr<TcpStoreServer> server;
  if (rank == 0) {
    auto started = TcpStoreServer::start(port, address.token);
    if (!started.ok()) return started.status();
    server = std::move(*started);
  }
  auto client = TcpStore::connect(host, port, address.token, deadline);
  if (!client.ok()) return client.status();
  return std::make_shared<JobStore>(std::move(server), std::move(*client), prefix);
}

}  // namespace ty::rendezvous
