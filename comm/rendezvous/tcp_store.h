// TcpStore: a rendezvous::Store served over TCP by one process (rank 0 hosts it, as
// torchrun's TCPStore does) and reached by every rank, the host's own included.
//
// Protocol (each client holds one connection; one request, one reply, in turn):
//  1. Every frame is a 4-byte little-endian length, then that many bytes (at most
//     kMaxFrame: a longer one is refused and that connection closed).
//  2. The client's first frame is HELLO: "TYSTORE1" and the token ("" when none). The server
//     answers OK, or REFUSED and closes when the token differs.
//  3. Requests: 'S' key-length(4) key value (set), 'G' key (get), 'C' key (check: whether set).
//     Replies: one status byte — 0 ok (then the value, for get), 1 not set, 2 refused or
//     malformed (the connection closes).
//  4. wait() and get() with a deadline poll 'C'/'G', backing off from 1 ms to 50 ms: the
//     server keeps no waiters, so a client that goes away costs it nothing.
// The server is one thread polling at most kMaxConnections connections; a bad frame or a
// client that goes away closes that connection only.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "comm/rendezvous/store.h"

namespace ty::rendezvous {

inline constexpr size_t kMaxFrame = size_t{4} << 20;  // 4 MiB: keys and values are small
inline constexpr int kMaxConnections = 4096;

class TcpStoreServer {
 public:
  // Listens on `port` of every interface (0: a free port, see port()).
  static absl::StatusOr<std::unique_ptr<TcpStoreServer>> start(int port, std::string token);
  ~TcpStoreServer();  // stops serving and closes every connection
  int port() const { return port_; }

 private:
  TcpStoreServer(int listen_fd, int port, std::string token);
  void serve();
  int listen_fd_, port_;
  std::string token_;
  int wake_[2] = {-1, -1};  // a pipe: the destructor wakes poll()
  std::thread thread_;
};

class TcpStore final : public Store {
 public:
  // Connects to HOST:PORT, retrying until `deadline` (the server may start later), and
  // says hello with `token`. Errors name the address.
  static absl::StatusOr<std::unique_ptr<TcpStore>> connect(const std::string& host, int port, const std::string& token,
                                                           Clock::time_point deadline);
  ~TcpStore() override;

  absl::Status set(const std::string& key, const std::string& value) override;
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override;
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override;
  std::string describe() const override { return address_; }

 private:
  TcpStore(int fd, std::string address) : fd_(fd), address_(std::move(address)) {}
  // One request and its reply: status byte, then the rest into `value`.
  absl::StatusOr<char> request(const std::string& frame, std::string* value);
  absl::Status refused() const;
  std::mutex mu_;
  int fd_;
  std::string address_;  // "tcp://host:port"
};

}  // namespace ty::rendezvous
