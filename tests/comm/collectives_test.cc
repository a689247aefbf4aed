// The shared collective cases (tests/support/collective_cases.h) over the in-process
// transport and over UCX, ranks as threads, for world sizes 1-8 (non-powers of two
// included), and the timeout that replaces a hang.
#include <functional>
#include <thread>

#include "comm/inprocess/inprocess_communicator.h"
#include "comm/rendezvous/file_store.h"
#include "gtest/gtest.h"
#include "tests/support/collective_cases.h"
#include "tests/support/ranks.h"
#include "tests/support/ucx_ranks.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

using collective_cases::filled;

// (backend, world size)
class Collectives : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(Collectives, TheSharedCases) {
  const auto& [backend, w] = GetParam();
  auto cases = [](Communicator& c) {
    collective_cases::all(c);
    if (!::testing::Test::HasFatalFailure()) collective_cases::bitwise_identical_across_ranks(c);
  };
  if (backend == "inprocess") return on_ranks(w, cases);
  on_ucx_ranks(w, cases);
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, Collectives,
                         ::testing::Combine(::testing::Values("inprocess", "ucx"), ::testing::Range(1, 9)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::to_string(std::get<1>(info.param));
                         });

TEST(CollectivesTimeout, AMissingPeerFailsNamingOperationGroupAndTime) {
  CommOptions o;
  o.timeout = std::chrono::milliseconds(300);
  auto comms = InProcessCommunicator::create_group(2, o);
  Tensor t = filled(10, DType::kF32, [](int64_t) { return 1; });
  const auto start = std::chrono::steady_clock::now();
  absl::Status st = comms[0]->allreduce(t, ReduceOp::kSum)->wait();  // rank 1 never joins
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
  EXPECT_NE(st.message().find("allreduce"), std::string::npos) << st;
  EXPECT_NE(st.message().find("world (rank 0 of 2"), std::string::npos) << st;
  EXPECT_NE(st.message().find("rank 1"), std::string::npos) << st;
  EXPECT_LT(secs, 5.0);
  // The group is broken: later operations fail at once with the same cause.
  absl::Status next = comms[0]->barrier()->wait();
  EXPECT_FALSE(next.ok());
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

// Arrivals (comm/arrivals.h): the ranks waiting in a collective that times out name the
// one that never reached it; a healthy collective posts nothing.
class Arrivals : public TempDirTest {};

TEST_F(Arrivals, TheRanksThatWaitInATimedOutCollectiveNameTheOneThatNeverCame) {
  auto store = rendezvous::FileStore::open(path("arrivals"));
  ASSERT_TRUE(store.ok()) << store.status();
  std::shared_ptr<rendezvous::Store> shared = std::move(*store);
  CommOptions o;
  o.timeout = std::chrono::milliseconds(500);
  auto comms = InProcessCommunicator::create_group(4, o);
  for (int r = 0; r < 4; ++r)
    comms[r]->set_arrivals(std::make_unique<ty::Arrivals>(shared, "world", r, 4, std::chrono::milliseconds(2000)));
  std::vector<absl::Status> got(4);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r)
    threads.emplace_back([&, r] {
      Tensor t = filled(8, DType::kF32, [](int64_t) { return 1; });
      got[r] = comms[r]->allreduce_now(t, ReduceOp::kSum);                      // the first collective: all four
      if (r == 2) return;                                                       // rank 2 stops answering
      if (r == 3) std::this_thread::sleep_for(std::chrono::milliseconds(200));  // arrives late
      got[r] = comms[r]->allreduce(t, ReduceOp::kSum)->wait();
    });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(got[2].ok()) << got[2];
  for (int r : {0, 1, 3}) {
    EXPECT_EQ(got[r].code(), absl::StatusCode::kDeadlineExceeded) << got[r];
    EXPECT_NE(got[r].message().find("; rank 2 has not reached it (stuck or gone; ranks 0, 1, 3 wait in it)"),
              std::string::npos)
        << got[r];
  }
  // Only the timeout posted: the three that waited, not the healthy first collective.
  size_t posts = 0;
  for (const auto& e : std::filesystem::directory_iterator(path("arrivals"))) posts += e.is_regular_file();
  EXPECT_EQ(posts, 3u);
}

}  // namespace
}  // namespace ty
