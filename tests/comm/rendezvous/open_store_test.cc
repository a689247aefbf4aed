// Stores from their URLs: a file store and a tcp store that rank 0 hosts, each scoped to the
// job and attempt; bad URLs are the user's error naming the variable.
#include "comm/rendezvous/open_store.h"

#include <thread>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty::rendezvous {
namespace {

using Clock = Store::Clock;
using OpenStore = TempDirTest;

TEST_F(OpenStore, AFileStoreScopesItsKeysToTheJobsAttempt) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  const std::string url = "file://" + path("rdzv");
  auto a0 = open_store({url, "", "job", 0}, 0, deadline);
  auto b0 = open_store({url, "", "job", 0}, 1, deadline);
  auto b1 = open_store({url, "", "job", 1}, 1, deadline);
  ASSERT_TRUE(a0.ok() && b0.ok() && b1.ok());
  ASSERT_TRUE((*a0)->set("k", "v0").ok());
  EXPECT_EQ(*(*b0)->get("k", deadline), "v0");
  EXPECT_EQ((*b1)->get("k", Clock::now() + std::chrono::milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);  // attempt 1 never sees attempt 0's keys
}

TEST_F(OpenStore, RankZeroHostsTheTcpStoreAndTheOthersReachIt) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  const int port = 20000 + static_cast<int>(::getpid() % 20000);
  const std::string url = "tcp://localhost:" + std::to_string(port);
  absl::StatusOr<std::shared_ptr<Store>> other;
  std::thread rank1([&] { other = open_store({url, "t0k", "job", 5}, 1, deadline); });  // may come first
  auto host = open_store({url, "t0k", "job", 5}, 0, deadline);
  rank1.join();
  ASSERT_TRUE(host.ok()) << host.status();
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->set("addr/1", "here").ok());
  EXPECT_EQ(*(*host)->get("addr/1", deadline), "here");
  EXPECT_NE((*host)->describe().find("job/5"), std::string::npos) << (*host)->describe();
  auto stale = open_store({url, "t0k", "job", 4}, 1, deadline);  // another attempt: other keys
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE((*stale)->get("addr/1", Clock::now() + std::chrono::milliseconds(100)).ok());
}

TEST(OpenStoreUrls, BadUrlsNameTheVariable) {
  const auto deadline = Clock::now() + std::chrono::seconds(1);
  for (const char* url : {"http://x:1", "tcp://host", "tcp://host:0", "tcp://host:99999", "file://relative"}) {
    auto s = open_store({url, "", "job", 0}, 1, deadline);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_NE(s.status().message().find(std::string("TRAINYARD_RENDEZVOUS=") + url), std::string::npos) << s.status();
  }
}

}  // namespace
}  // namespace ty::rendezvous
