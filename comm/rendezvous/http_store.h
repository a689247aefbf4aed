// HttpStore: a rendezvous::Store on the coordinator's HTTP store (coordinator/rendezvous.h),
// for the ranks a worker daemon starts. Keys live under /api/v1/rendezvous/JOB/ATTEMPT/, so
// the job id (a number) and attempt scope them; the attempt's token (TRAINYARD_RENDEZVOUS_TOKEN)
// authenticates. A coordinator that is away (restarting), or answers 5xx, is asked again
// (20 ms, doubling to 500 ms) until the deadline; wait() and get() poll for keys not set
// yet, backing off from 1 ms to 50 ms. https:// URLs check the server's
// certificate against TRAINYARD_TLS_CA when set, else the system's CAs.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "comm/rendezvous/store.h"

namespace httplib {
class Client;
}

namespace ty::rendezvous {

class HttpStore final : public Store {
 public:
  // Connects to `url` (http://HOST:PORT or https://HOST:PORT) and checks that the token
  // opens the attempt's keys, waiting for the coordinator until `deadline`. Errors: a
  // refused token or an attempt that is not running (PermissionDenied, FailedPrecondition),
  // no answer by the deadline (Unavailable).
  static absl::StatusOr<std::unique_ptr<HttpStore>> connect(const std::string& url, const std::string& token,
                                                            int64_t job, int attempt, Clock::time_point deadline);
  ~HttpStore() override;

  absl::Status set(const std::string& key, const std::string& value) override;
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override;
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override;
  std::string describe() const override { return url_ + base_; }

 private:
  HttpStore(std::string url, std::string base, std::unique_ptr<httplib::Client> client);
  // One request, retried while the coordinator does not answer, until `deadline`: its
  // status and body (404 for a key not set yet).
  absl::StatusOr<std::pair<int, std::string>> request(const std::string& method, const std::string& path,
                                                      const std::string& body, Clock::time_point deadline);
  // Whether `key` is set: its value, or nullopt.
  absl::StatusOr<std::optional<std::string>> lookup(const std::string& key, Clock::time_point deadline);
  std::string url_, base_;  // "http://host:port", "/api/v1/rendezvous/JOB/ATTEMPT"
  std::mutex mu_;           // one request at a time on the client
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace ty::rendezvous
