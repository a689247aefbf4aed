// The UCX transport with ranks as threads of one process (each its own UCX context and
// worker, meeting through a file store): the ring and recursive-doubling allreduce on it,
// small messages and large ones (UCX's rendezvous protocol, where a send waits for its
// receiver; several pieces in flight), world sizes 1 to 4.
#include "comm/ucx/ucx_transport.h"

#include <latch>
#include <thread>

#include "comm/algorithms/recursive_doubling.h"
#include "comm/algorithms/ring.h"
#include "comm/rendezvous/file_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class UcxTransportTest : public TempDirTest {
 protected:
  // body(transport) on `world` threads, each with its own UcxTransport.
  void on_ranks(int world, const std::function<void(UcxTransport&)>& body) {
    auto store = rendezvous::FileStore::open(path("rdzv" + std::to_string(groups_++)));  // fresh addresses
    ASSERT_TRUE(store.ok());
    std::vector<std::thread> ranks;
    for (int r = 0; r < world; ++r)
      ranks.emplace_back([&, r] {
        auto t = UcxTransport::connect(**store, r, world, Transport::Clock::now() + std::chrono::seconds(30));
        ASSERT_TRUE(t.ok()) << t.status();
        body(**t);
      });
    for (auto& t : ranks) t.join();
  }
  int groups_ = 0;
};

TEST_F(UcxTransportTest, RingAndRecursiveDoublingAllreduceOfSmallAndLargeBuffersOnOneToFourRanks) {
  for (int world = 1; world <= 4; ++world)
    for (int64_t n : {int64_t{1}, int64_t{1000}, int64_t{1} << 20})  // 4 B to 4 MiB (pieces of 256 KiB)
      for (bool ring : {true, false}) {
      SCOPED_TRACE(testing::Message() << world << " ranks, " << n << " floats, " << (ring ? "ring" : "doubling"));
      on_ranks(world, [&](UcxTransport& t) {
        Tensor buf = Tensor::empty(host_memory(), {n});
        for (int64_t i = 0; i < n; ++i) buf.data<float>()[i] = static_cast<float>(t.rank() + 1) + (i % 7);
        Scratch scratch;
        const auto deadline = Transport::Clock::now() + std::chrono::seconds(30);
        ASSERT_TRUE((ring ? ring::allreduce(t, buf, ReduceOp::kSum, -1, deadline, scratch)
                          : recursive_doubling::allreduce(t, buf, ReduceOp::kSum, -1, deadline, scratch))
                        .ok());
        const float ranks_sum = world * (world + 1) / 2.0f;
        for (int64_t i = 0; i < n; i += std::max<int64_t>(1, n / 97))
          ASSERT_EQ(buf.data<float>()[i], ranks_sum + world * (i % 7)) << "element " << i;
        EXPECT_FALSE(t.transports().empty());
      });
    }
}

TEST_F(UcxTransportTest, AReceiveWithNoSenderEndsAtItsDeadlineNamingThePeer) {
  on_ranks(2, [](UcxTransport& t) {
    if (t.rank() == 1) {  // alive, silent
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      return;
    }
    float x = 0;
    absl::Status st = t.recv(1, 5, &x, sizeof x, Transport::Clock::now() + std::chrono::milliseconds(300));
    EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded) << st;
    EXPECT_NE(st.message().find("rank 1"), std::string::npos) << st;
  });
}

TEST_F(UcxTransportTest, APeerThatGoesAwayIsNamedAtOnceNotAtTheDeadline) {
  std::latch connected(2);  // rank 1 leaves only once both have their endpoints
  on_ranks(2, [&](UcxTransport& t) {
    connected.arrive_and_wait();
    if (t.rank() == 1) return;  // its transport closes: the endpoint to it fails
    float x = 0;
    const auto t0 = Transport::Clock::now();
    absl::Status st = t.recv(1, 5, &x, sizeof x, t0 + std::chrono::seconds(30));
    EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
    EXPECT_NE(st.message().find("rank 1 is lost"), std::string::npos) << st;
    EXPECT_LT(Transport::Clock::now() - t0, std::chrono::seconds(10));
  });
}

}  // namespace
}  // namespace ty
