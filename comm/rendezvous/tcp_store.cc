#include "comm/rendezvous/tcp_store.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ty::rendezvous {
namespace {

constexpr char kHello[] = "TYSTORE1";
constexpr char kOk = 0, kMissing = 1, kRefused = 2;
// Bound on one reply when no deadline is given (set): a server that accepts and never
// answers must not hold a rank forever.
constexpr auto kReplyTimeout = std::chrono::seconds(60);

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string frame(const std::string& body) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

bool send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// ---- server

absl::StatusOr<std::unique_ptr<TcpStoreServer>> TcpStoreServer::start(int port, std::string token) {
  // IPv6 and IPv4 on one socket; IPv4 alone where the kernel has no IPv6.
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool v6 = fd >= 0;
  if (!v6) fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("rendezvous store: socket: ", errno_text()));
  const int one = 1, zero = 0;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_any;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 512) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("rendezvous store: cannot listen on port ", port, " (", why,
                                               "); is another job's store there? pick another port"));
  }
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int bound = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  return std::unique_ptr<TcpStoreServer>(new TcpStoreServer(fd, bound, std::move(token)));
}

TcpStoreServer::TcpStoreServer(int listen_fd, int port, std::string token)
    : listen_fd_(listen_fd), port_(port), token_(std::move(token)) {
  if (::pipe2(wake_, O_CLOEXEC) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { serve(); });
}

TcpStoreServer::~TcpStoreServer() {
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  thread_.join();
  ::close(listen_fd_);
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

void TcpStoreServer::serve() {
  struct Connection {
    int fd;
    std::string in;
    bool hello = false;
  };
  std::map<std::string, std::string> data;
  std::vector<Connection> conns;
  // Handles one whole frame body; false: close the connection.
  auto handle = [&](Connection& c, const std::string& body) {
    auto reply = [&](char status, const std::string& value = "") {
      return send_all(c.fd, frame(std::string(1, status) + value)) && status != kRefused;
    };
    if (!c.hello) {
      c.hello = body == kHello + token_;
      return reply(c.hello ? kOk : kRefused);
    }
    if (body.empty()) return reply(kRefused);
    const char op = body[0];
    if (op == 'S') {
      if (body.size() < 5) return reply(kRefused);
      const uint32_t klen = get_u32(body.data() + 1);
      if (klen == 0 || klen > body.size() - 5) return reply(kRefused);
      data[body.substr(5, klen)] = body.substr(5 + klen);
      return reply(kOk);
    }
    if (op == 'G' || op == 'C') {
      auto it = data.find(body.substr(1));
      if (it == data.end()) return reply(kMissing);
      return reply(kOk, op == 'G' ? it->second : "");
    }
    return reply(kRefused);
  };
  std::vector<pollfd> fds;
  for (;;) {
    fds.assign({{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}});
    for (const Connection& c : conns) fds.push_back({c.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;  // the destructor
    std::vector<bool> closing(conns.size(), false);
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!fds[i + 2].revents) continue;
      Connection& c = conns[i];
      char buf[64 << 10];
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        closing[i] = true;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(n));
      while (c.in.size() >= 4 && !closing[i]) {
        const uint32_t len = get_u32(c.in.data());
        if (len > kMaxFrame) {  // refused before it is read
          send_all(c.fd, frame(std::string(1, kRefused)));
          closing[i] = true;
          break;
        }
        if (c.in.size() < 4 + size_t{len}) break;
        const std::string body = c.in.substr(4, len);
        c.in.erase(0, 4 + size_t{len});
        if (!handle(c, body)) closing[i] = true;
      }
    }
    for (size_t i = conns.size(); i-- > 0;)
      if (closing[i]) {
        ::close(conns[i].fd);
        conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
      }
    if (fds[0].revents) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        if (conns.size() >= static_cast<size_t>(kMaxConnections)) {
          ::close(fd);  // full: that client's requests fail and name the store
        } else {
          const timeval two_s{2, 0};  // a client that stops reading cannot stall the others long
          ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &two_s, sizeof two_s);
          conns.push_back({fd, "", false});
        }
      }
    }
  }
  for (const Connection& c : conns) ::close(c.fd);
}

// ---- client

absl::StatusOr<std::unique_ptr<TcpStore>> TcpStore::connect(const std::string& host, int port, const std::string& token,
                                                            Clock::time_point deadline) {
  const std::string address = absl::StrCat("tcp://", host, ":", port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string why;
  auto nap = std::chrono::milliseconds(10);
  for (;;) {
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (rc != 0) {
      why = gai_strerror(rc);
    } else {
      for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
          ::freeaddrinfo(found);
          const int one = 1;
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          std::unique_ptr<TcpStore> store(new TcpStore(fd, address));
          std::string reply;
          absl::StatusOr<char> hello = store->request(frame(kHello + token), &reply);
          if (!hello.ok()) return hello.status();
          if (*hello != kOk)
            return absl::PermissionDeniedError(
                absl::StrCat(address, ": the store refused this rank's token (TRAINYARD_RENDEZVOUS_TOKEN)"));
          return store;
        }
        why = errno_text();
        ::close(fd);
      }
      ::freeaddrinfo(found);
    }
    if (Clock::now() + nap > deadline)
      return absl::UnavailableError(
          absl::StrCat(address, ": cannot reach the rendezvous store (", why, "); is rank 0 running?"));
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::milliseconds(200));
  }
}

TcpStore::~TcpStore() { ::close(fd_); }

absl::Status TcpStore::refused() const {
  return absl::UnavailableError(
      absl::StrCat(address_, ": the store refused a request (malformed or too large) and closed the connection"));
}

absl::StatusOr<char> TcpStore::request(const std::string& bytes, std::string* value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto lost = [&](const std::string& what) {
    return absl::UnavailableError(absl::StrCat(address_, ": ", what, "; is rank 0 (the store's host) gone?"));
  };
  if (!send_all(fd_, bytes)) return lost(absl::StrCat("cannot send (", errno_text(), ")"));
  std::string in;
  const auto deadline = Clock::now() + kReplyTimeout;
  while (in.size() < 4 || in.size() < 4 + size_t{get_u32(in.data())}) {
    if (in.size() >= 4 && get_u32(in.data()) > kMaxFrame) return lost("an oversized reply");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) return lost("no reply within 60 s");
    char buf[64 << 10];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return lost("the connection closed");
    in.append(buf, static_cast<size_t>(n));
  }
  const uint32_t len = get_u32(in.data());
  if (len == 0) return lost("an empty reply");
  if (value) *value = in.substr(5, len - 1);
  return in[4];
}

absl::Status TcpStore::set(const std::string& key, const std::string& value) {
  if (key.empty()) return absl::InvalidArgumentError("rendezvous key: empty");
  if (key.size() + value.size() + 5 > kMaxFrame)
    return absl::InvalidArgumentError(
        absl::StrCat(address_, ": key '", key, "' with a ", value.size(), "-byte value is over the store's limit"));
  std::string body = "S";
  put_u32(body, static_cast<uint32_t>(key.size()));
  absl::StatusOr<char> st = request(frame(body + key + value), nullptr);
  if (!st.ok()) return st.status();
  return *st == kOk ? absl::OkStatus() : refused();
}

absl::Status TcpStore::wait(const std::vector<std::string>& keys, Clock::time_point deadline) {
  return poll_keys(address_, keys, deadline, [&](const std::string& k) -> absl::StatusOr<bool> {
    absl::StatusOr<char> st = request(frame("C" + k), nullptr);
    if (!st.ok()) return st.status();
    if (*st == kRefused) return refused();
    return *st == kOk;
  });
}

absl::StatusOr<std::string> TcpStore::get(const std::string& key, Clock::time_point deadline) {
  if (absl::Status st = wait({key}, deadline); !st.ok()) return st;
  std::string value;
  absl::StatusOr<char> st = request(frame("G" + key), &value);
  if (!st.ok()) return st.status();
  if (*st == kRefused) return refused();
  if (*st != kOk) return absl::InternalError(absl::StrCat(address_, ": key '", key, "' vanished"));
  return value;
}

}  // namespace ty::rendezvous
