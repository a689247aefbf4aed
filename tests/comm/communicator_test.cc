// The checks every Communicator call passes before a backend sees it, split() into
// sub-groups (ranks as threads, many world sizes and colorings), and byte payloads.
#include <algorithm>
#include <cstring>

#include "comm/communicator.h"
#include "gtest/gtest.h"
#include "tests/support/ranks.h"

namespace ty {
namespace {

void expect_invalid(CommHandlePtr h, const std::string& want) {
  absl::Status st = h->wait();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find(want), std::string::npos) << st << "\nwant: " << want;
}

TEST(CommunicatorChecks, SizesDtypesRanksAndTagsNameTheOpGroupAndRank) {
  auto comms = InProcessCommunicator::create_group(3);
  Communicator& c = *comms[1];
  Tensor f = Tensor::empty(host_memory(), {4}), small = Tensor::empty(host_memory(), {10});
  expect_invalid(c.allgather(f, small),
                 "allgather on group world (rank 1 of 3, inprocess): out holds 10 f32 elements, not 3 x 4");
  expect_invalid(c.allgather(f, Tensor::empty(host_memory(), {12}, DType::kF64)), "not 3 x 4 f32");
  expect_invalid(c.reduce_scatter(small, f, ReduceOp::kSum),
                 "reduce_scatter on group world (rank 1 of 3, inprocess) (sum): in holds 10");
  expect_invalid(c.allreduce(Tensor::empty(host_memory(), {4}, DType::kU8), ReduceOp::kSum),
                 "reductions take f32 or f64 tensors, got u8");
  expect_invalid(c.allreduce(Tensor(), ReduceOp::kSum), "the tensor is undefined");
  expect_invalid(c.broadcast(f, 3), "root rank 3 is not in the group (0 to 2)");
  expect_invalid(c.send(f, 1, 0), "send on group world (rank 1 of 3, inprocess): with itself");
  expect_invalid(c.send(f, -1, 0), "destination rank -1 is not in the group");
  expect_invalid(c.recv(f, 0, -5), "tag -5 (allowed: 0 to 32767)");
  EXPECT_EQ(c.allreduce_now(Tensor::empty(host_memory(), {2}, DType::kI32), ReduceOp::kMax).code(),
            absl::StatusCode::kInvalidArgument);
  auto bad_split = c.split(-7, 0);
  EXPECT_EQ(bad_split.status().code(), absl::StatusCode::kInvalidArgument);
}

class Split : public ::testing::TestWithParam<int> {};

// Colors by rank modulo 2 and 3 (keys reversing the order), and a rank joining no group;
// each sub-group then runs collectives of its own, named after it.
TEST_P(Split, SubGroupsByColorOrderedByKey) {
  const int w = GetParam();
  on_ranks(w, [&](Communicator& c) {
    const int r = c.rank();
    for (int m : {2, 3}) {
      auto sub_or = c.split(r % m, w - r);
      ASSERT_TRUE(sub_or.ok()) << sub_or.status();
      Communicator& sub = **sub_or;
      std::vector<int> members;
      for (int q = 0; q < w; ++q)
        if (q % m == r % m) members.push_back(q);
      std::reverse(members.begin(), members.end());  // key w - q: descending rank
      ASSERT_EQ(sub.size(), static_cast<int>(members.size()));
      ASSERT_EQ(members[sub.rank()], r);
      EXPECT_EQ(sub.group(), "world/split " + std::to_string(r % m));
      Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
      t.set(0, r);
      ASSERT_TRUE(sub.allreduce_now(t, ReduceOp::kSum).ok());
      double want = 0;
      for (int q : members) want += q;
      ASSERT_EQ(t.at(0), want) << "rank " << r << " mod " << m;
    }
    auto none = c.split(r == 0 ? Communicator::kNoGroup : 1, r);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none == nullptr, r == 0);
    if (*none) {
      ASSERT_EQ((*none)->size(), w - 1);
      ASSERT_TRUE((*none)->barrier()->wait().ok());
    }
  });
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, Split, ::testing::Range(1, 8));

TEST(BytePayloads, BroadcastAllgatherAndTaggedSendRecvMoveBytes) {
  on_ranks(3, [](Communicator& c) {
    const int r = c.rank();
    Tensor id = Tensor::empty(host_memory(), {128}, DType::kU8);
    for (int i = 0; i < 128; ++i) static_cast<uint8_t*>(id.raw())[i] = r == 2 ? static_cast<uint8_t>(255 - i) : 0;
    ASSERT_TRUE(c.broadcast(id, 2)->wait().ok());
    for (int i = 0; i < 128; ++i) ASSERT_EQ(static_cast<uint8_t*>(id.raw())[i], 255 - i);
    // Two tags between the same pair: each arrives on its own tag, in order.
    if (r == 0) {
      Tensor a = Tensor::empty(host_memory(), {3}, DType::kU8), b = Tensor::empty(host_memory(), {3}, DType::kU8);
      std::memcpy(a.raw(), "aaa", 3);
      std::memcpy(b.raw(), "bbb", 3);
      auto s1 = c.send(a, 1, 5), s2 = c.send(b, 1, 6);
      ASSERT_TRUE(s1->wait().ok());
      ASSERT_TRUE(s2->wait().ok());
    } else if (r == 1) {
      Tensor got6 = Tensor::empty(host_memory(), {3}, DType::kU8), got5 = Tensor::empty(host_memory(), {3}, DType::kU8);
      ASSERT_TRUE(c.recv(got6, 0, 6)->wait().ok());
      ASSERT_TRUE(c.recv(got5, 0, 5)->wait().ok());
      EXPECT_EQ(std::string(static_cast<char*>(got6.raw()), 3), "bbb");
      EXPECT_EQ(std::string(static_cast<char*>(got5.raw()), 3), "aaa");
    }
  });
}

}  // namespace
}  // namespace ty
