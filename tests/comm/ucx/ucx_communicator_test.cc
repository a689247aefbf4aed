// The UCX communicator with ranks as threads (each its own UCX worker, meeting through a
// file store): the collectives, a size mismatch refused by the base, and sub-groups.
#include "comm/ucx/ucx_communicator.h"

#include <latch>
#include <thread>

#include "comm/rendezvous/file_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

using UcxCommunicatorTest = TempDirTest;

TEST_F(UcxCommunicatorTest, CollectivesAndSubGroupsOnThreeRanks) {
  auto store = rendezvous::FileStore::open(path("rdzv"));
  ASSERT_TRUE(store.ok());
  std::latch done(3);  // no rank closes its endpoints while another still talks to it
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.emplace_back([&, r] {
      CommOptions o;
      o.timeout = std::chrono::seconds(30);
      absl::StatusOr<std::unique_ptr<UcxCommunicator>> c = absl::UnknownError("not yet");
      struct ArriveAtExit {  // before `c` goes, even when an assertion returns early
        std::latch& l;
        ~ArriveAtExit() { l.arrive_and_wait(); }
      } arrive{done};
      c = UcxCommunicator::create(**store, r, 3, o);
      ASSERT_TRUE(c.ok()) << c.status();
      Communicator& comm = **c;
      EXPECT_EQ(comm.backend(), "ucx");
      Tensor x = Tensor::empty(host_memory(), {1000}, DType::kF64);
      for (int64_t i = 0; i < 1000; ++i) x.data<double>()[i] = r + i;
      ASSERT_TRUE(comm.allreduce(x, ReduceOp::kSum)->wait().ok());
      EXPECT_EQ(x.data<double>()[7], 3 + 3 * 7);
      Tensor b = Tensor::empty(host_memory(), {4}, DType::kU8);
      for (int i = 0; i < 4; ++i) b.data<uint8_t>()[i] = static_cast<uint8_t>(r == 2 ? 40 + i : 0);
      ASSERT_TRUE(comm.broadcast(b, 2)->wait().ok());
      EXPECT_EQ(b.data<uint8_t>()[3], 43);
      Tensor mine = Tensor::empty(host_memory(), {2}, DType::kI32),
             all = Tensor::empty(host_memory(), {6}, DType::kI32);
      mine.data<int32_t>()[0] = mine.data<int32_t>()[1] = r;
      ASSERT_TRUE(comm.allgather(mine, all)->wait().ok());
      EXPECT_EQ(all.data<int32_t>()[5], 2);
      Tensor wrong = Tensor::empty(host_memory(), {5}, DType::kI32);  // not 3 x 2
      EXPECT_EQ(comm.allgather(mine, wrong)->wait().code(), absl::StatusCode::kInvalidArgument);
      // Ranks 0 and 2 form a group, rank 1 another: each sums within its own.
      auto sub = comm.split(r == 1 ? 1 : 0, 0);
      ASSERT_TRUE(sub.ok()) << sub.status();
      Tensor one = Tensor::empty(host_memory(), {3});
      one.fill(r);
      ASSERT_TRUE((*sub)->allreduce(one, ReduceOp::kSum)->wait().ok());
      EXPECT_EQ(one.at(2), r == 1 ? 1.0 : 2.0);
      Tensor big = Tensor::empty(host_memory(), {100000});  // 400 KB: the ring, in pieces
      big.fill(r + 1);
      ASSERT_TRUE((*sub)->allreduce(big, ReduceOp::kSum)->wait().ok());
      EXPECT_EQ(big.at(99999), r == 1 ? 2.0 : 4.0);
      EXPECT_TRUE(comm.barrier()->wait().ok());
    });
  for (auto& t : ranks) t.join();
}

}  // namespace
}  // namespace ty
