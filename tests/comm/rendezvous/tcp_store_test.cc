// The TCP rendezvous store: values between ranks, deadlines, the token, a server that goes
// away, and frames that are malformed or too large (refused; the server keeps serving).
#include "comm/rendezvous/tcp_store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ty::rendezvous {
namespace {

using Clock = Store::Clock;
constexpr auto kSoon = std::chrono::seconds(10);

std::unique_ptr<TcpStore> client(int port, const std::string& token = "") {
  auto c = TcpStore::connect("127.0.0.1", port, token, Clock::now() + kSoon);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(TcpStore, EveryRankSeesEveryValueBytesIncluded) {
  auto server = TcpStoreServer::start(0, "secret");
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<std::thread> ranks;
  std::vector<std::string> seen(8);
  for (int r = 0; r < 8; ++r)
    ranks.emplace_back([&, r] {
      auto s = client(port, "secret");
      ASSERT_NE(s, nullptr);
      ASSERT_TRUE(s->set("addr/" + std::to_string(r), std::string("\0x", 2) + std::to_string(r)).ok());
      std::vector<std::string> keys;
      for (int k = 0; k < 8; ++k) keys.push_back("addr/" + std::to_string(k));
      ASSERT_TRUE(s->wait(keys, Clock::now() + kSoon).ok());
      auto v = s->get("addr/" + std::to_string((r + 1) % 8), Clock::now() + kSoon);
      ASSERT_TRUE(v.ok()) << v.status();
      seen[r] = *v;
    });
  for (auto& t : ranks) t.join();
  for (int r = 0; r < 8; ++r) EXPECT_EQ(seen[r], std::string("\0x", 2) + std::to_string((r + 1) % 8));
}

TEST(TcpStore, ADeadlineNamesTheKeysStillMissing) {
  auto server = TcpStoreServer::start(0, "");
  ASSERT_TRUE(server.ok());
  auto s = client((*server)->port());
  ASSERT_TRUE(s->set("rank/0", "x").ok());
  const auto t0 = Clock::now();
  absl::Status st = s->wait({"rank/0", "rank/1", "rank/2"}, t0 + std::chrono::milliseconds(200));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(st.message().find("2 key(s) not set after"), std::string::npos) << st;
  EXPECT_NE(st.message().find("rank/1, rank/2"), std::string::npos) << st;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(TcpStore, AWrongTokenIsRefused) {
  auto server = TcpStoreServer::start(0, "right");
  ASSERT_TRUE(server.ok());
  auto wrong = TcpStore::connect("127.0.0.1", (*server)->port(), "wrong", Clock::now() + kSoon);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(wrong.status().message().find("TRAINYARD_RENDEZVOUS_TOKEN"), std::string::npos) << wrong.status();
  EXPECT_NE(client((*server)->port(), "right"), nullptr);
}

TEST(TcpStore, RanksThatStartFirstWaitForTheServer) {
  int port = 0;
  {
    auto probe = TcpStoreServer::start(0, "");
    ASSERT_TRUE(probe.ok());
    port = (*probe)->port();
  }
  std::unique_ptr<TcpStoreServer> late;
  std::thread host([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto s = TcpStoreServer::start(port, "");
    ASSERT_TRUE(s.ok()) << s.status();
    late = std::move(*s);
  });
  auto s = TcpStore::connect("127.0.0.1", port, "", Clock::now() + kSoon);
  host.join();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE((*s)->set("k", "v").ok());
}

TEST(TcpStore, AServerThatGoesAwayFailsTheRanksNamingItBeforeTheirDeadline) {
  auto server = TcpStoreServer::start(0, "");
  ASSERT_TRUE(server.ok());
  auto s = client((*server)->port());
  server->reset();  // rank 0 is gone
  const auto t0 = Clock::now();
  auto v = s->get("never", t0 + std::chrono::seconds(30));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("tcp://127.0.0.1:"), std::string::npos) << v.status();
  EXPECT_NE(v.status().message().find("is rank 0 (the store's host) gone?"), std::string::npos) << v.status();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  auto none = TcpStore::connect("127.0.0.1", 1, "", Clock::now() + std::chrono::milliseconds(200));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find("cannot reach the rendezvous store"), std::string::npos) << none.status();
}

// A raw connection: sends `bytes`, returns what the server answered before closing.
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  const timeval t{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
  std::string got;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return got;
}

std::string framed(const std::string& body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  return std::string(reinterpret_cast<const char*>(&n), 4) + body;  // little-endian hosts
}

TEST(TcpStore, MalformedAndOversizedFramesAreRefusedAndTheServerKeepsServing) {
  auto server = TcpStoreServer::start(0, "");
  ASSERT_TRUE(server.ok());
  const int port = (*server)->port();
  const std::string refused = framed(std::string(1, '\2'));
  EXPECT_EQ(raw_exchange(port, std::string("\xff\xff\xff\x7f", 4) + "xx"), refused);  // 2 GiB announced
  EXPECT_EQ(raw_exchange(port, framed("HELLO?")), refused);                           // not the protocol
  EXPECT_EQ(raw_exchange(port, framed("TYSTORE1") + framed("Zkey")), framed(std::string(1, '\0')) + refused);
  EXPECT_EQ(raw_exchange(port, framed("TYSTORE1") + framed(std::string("S\xff\0\0\0k", 6))),
            framed(std::string(1, '\0')) + refused);  // a key longer than the frame
  auto s = client(port);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->set("still", "serving").ok());
  EXPECT_EQ(*s->get("still", Clock::now() + kSoon), "serving");
  EXPECT_EQ(s->set("big", std::string(kMaxFrame, 'x')).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ty::rendezvous
