// Ring collectives over the in-process transport, ranks as threads, for world sizes 1-8
// (non-powers of two included), and the timeout that replaces a hang.
#include <functional>
#include <thread>

#include "comm/inprocess/inprocess_communicator.h"
#include "comm/rendezvous/file_store.h"
#include "gtest/gtest.h"
#include "tests/support/ranks.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

Tensor filled(int64_t n, DType dt, const std::function<double(int64_t)>& f) {
  Tensor t = Tensor::empty(host_memory(), {n}, dt);
  for (int64_t i = 0; i < n; ++i) t.set(i, f(i));
  return t;
}

class Collectives : public ::testing::TestWithParam<int> {};

TEST_P(Collectives, AllreduceSumAvgMaxUnevenSizes) {
  const int w = GetParam();
  for (int64_t n : {0, 1, 7, 1000})
    for (DType dt : {DType::kF32, DType::kF64})
      on_ranks(w, [&](Communicator& c) {
        const int r = c.rank();
        Tensor s = filled(n, dt, [&](int64_t i) { return r + i; });
        Tensor a = s.clone(), m = s.clone();
        ASSERT_TRUE(c.allreduce(s, ReduceOp::kSum)->wait().ok());
        ASSERT_TRUE(c.allreduce(a, ReduceOp::kAvg)->wait().ok());
        ASSERT_TRUE(c.allreduce(m, ReduceOp::kMax)->wait().ok());
        const double rank_sum = w * (w - 1) / 2.0;
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_DOUBLE_EQ(s.at(i), rank_sum + w * i) << "rank " << r << " n " << n << " i " << i;
          ASSERT_NEAR(a.at(i), rank_sum / w + i, 1e-4);
          ASSERT_DOUBLE_EQ(m.at(i), w - 1 + i);
        }
      });
}

TEST_P(Collectives, BroadcastAllgatherReduceScatterBarrierSendRecv) {
  const int w = GetParam();
  on_ranks(w, [&](Communicator& c) {
    const int r = c.rank();
    for (int root = 0; root < w; ++root) {
      Tensor b = filled(5, DType::kF32, [&](int64_t i) { return r == root ? 10 * root + i : -1; });
      ASSERT_TRUE(c.broadcast(b, root)->wait().ok());
      for (int64_t i = 0; i < 5; ++i) ASSERT_EQ(b.at(i), 10 * root + i);
    }
    Tensor in = filled(3, DType::kF32, [&](int64_t i) { return 100 * r + i; }),
           all = Tensor::empty(host_memory(), {3 * w});
    ASSERT_TRUE(c.allgather(in, all)->wait().ok());
    for (int q = 0; q < w; ++q)
      for (int64_t i = 0; i < 3; ++i) ASSERT_EQ(all.at(q * 3 + i), 100 * q + i);
    Tensor blocks = filled(2 * w, DType::kF64, [&](int64_t i) { return i + r; }),
           mine = Tensor::empty(host_memory(), {2}, DType::kF64);
    ASSERT_TRUE(c.reduce_scatter(blocks, mine, ReduceOp::kSum)->wait().ok());
    for (int64_t i = 0; i < 2; ++i) ASSERT_DOUBLE_EQ(mine.at(i), w * (2 * r + i) + w * (w - 1) / 2.0) << "rank " << r;
    ASSERT_TRUE(c.barrier()->wait().ok());
    if (w > 1) {
      Tensor msg = filled(4, DType::kF32, [&](int64_t i) { return r * 10 + i; }),
             got = Tensor::empty(host_memory(), {4});
      auto s = c.send(msg, (r + 1) % w, 7);
      ASSERT_TRUE(c.recv(got, (r + w - 1) % w, 7)->wait().ok());
      ASSERT_TRUE(s->wait().ok());
      for (int64_t i = 0; i < 4; ++i) ASSERT_EQ(got.at(i), ((r + w - 1) % w) * 10 + i);
    }
  });
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, Collectives, ::testing::Range(1, 9));

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
