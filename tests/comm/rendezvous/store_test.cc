// Rendezvous stores: a shared directory (ranks as threads and as processes would use it)
// and the collective store over a communicator; deadlines name the keys still missing.
#include <thread>

#include "comm/rendezvous/collective_store.h"
#include "comm/rendezvous/file_store.h"
#include "gtest/gtest.h"
#include "tests/support/ranks.h"
#include "tests/support/temp_dir.h"

namespace ty::rendezvous {
namespace {

using Clock = Store::Clock;
using FileStoreTest = TempDirTest;

TEST_F(FileStoreTest, ValuesSetByOneAreSeenByAllAndAttemptsDoNotMix) {
  auto a = FileStore::open(path("rdzv"));
  auto b = FileStore::open(path("rdzv"));
  ASSERT_TRUE(a.ok() && b.ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE((*a)->set("rank/1/addr", std::string("\0\x01 bytes/with:odd chars", 22)).ok());
  });
  auto got = (*b)->get("rank/1/addr", Clock::now() + std::chrono::seconds(10));
  late.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::string("\0\x01 bytes/with:odd chars", 22));
  PrefixStore attempt0(**a, "job7/0"), attempt1(**b, "job7/1");
  ASSERT_TRUE(attempt0.set("nccl", "old").ok());
  absl::Status st = attempt1.wait({"nccl"}, Clock::now() + std::chrono::milliseconds(100));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(st.message().find("job7/1/nccl"), std::string::npos) << st;
}

TEST_F(FileStoreTest, ADeadlineNamesTheKeysStillMissing) {
  auto s = FileStore::open(path("rdzv"));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->set("rank/0", "x").ok());
  const auto t0 = Clock::now();
  absl::Status st = (*s)->wait({"rank/0", "rank/1", "rank/2"}, t0 + std::chrono::milliseconds(200));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(st.message().find("2 key(s) not set after"), std::string::npos) << st;
  EXPECT_NE(st.message().find("rank/1, rank/2"), std::string::npos) << st;
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
}

TEST(CollectiveStore, RankZerosValueReachesAllAndEveryRanksAddressEveryone) {
  on_ranks(4, [](Communicator& c) {
    CollectiveStore store(c);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    if (c.rank() == 0) {
      ASSERT_TRUE(store.set("nccl/unique_id", std::string(128, '\x7f')).ok());
    }
    auto id = store.get("nccl/unique_id", deadline);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, std::string(128, '\x7f'));
    ASSERT_TRUE(store.set("addr/" + std::to_string(c.rank()), "host" + std::to_string(c.rank())).ok());
    ASSERT_TRUE(store.wait({"addr/0", "addr/1", "addr/2", "addr/3"}, deadline).ok());
    for (int r = 0; r < 4; ++r)
      EXPECT_EQ(*store.get("addr/" + std::to_string(r), deadline), "host" + std::to_string(r));
    absl::Status never = store.wait({"never/set"}, deadline);
    EXPECT_EQ(never.code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(never.message().find("no rank set never/set"), std::string::npos) << never;
  });
}

}  // namespace
}  // namespace ty::rendezvous
