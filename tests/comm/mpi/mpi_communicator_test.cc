// The MPI backend under mpirun (ctest runs this binary with mpirun -np 3): the collective
// cases every backend runs (tests/support/collective_cases.h), byte payloads,
// split() into sub-groups that share the one MPI thread, tagged point-to-point, and the
// collective rendezvous store over the world.
#include <cstring>

#include "comm/mpi/mpi_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "gtest/gtest.h"
#include "tests/support/collective_cases.h"

namespace ty {
namespace {

Communicator& world() {
  static std::unique_ptr<MpiCommunicator> w = [] {
    CommOptions o;
    o.timeout = std::chrono::seconds(60);
    auto c = MpiCommunicator::create(o);
    CHECK(c.ok()) << c.status();
    return std::move(*c);
  }();
  return *w;
}

TEST(MpiCommunicator, TheSharedCollectiveCases) { collective_cases::all(world()); }

TEST(MpiCommunicator, BytesSplitTagsAndTheStore) {
  Communicator& c = world();
  ASSERT_EQ(c.size(), 3) << "run under mpirun -np 3";
  const int r = c.rank();
  Tensor id = Tensor::empty(host_memory(), {16}, DType::kU8);
  std::memset(id.raw(), r == 1 ? 0xab : 0, 16);
  ASSERT_TRUE(c.broadcast(id, 1)->wait().ok());
  EXPECT_EQ(static_cast<uint8_t*>(id.raw())[15], 0xab);

  auto odd = c.split(r % 2, -r);  // ranks {0, 2} in the order 2, 0; rank {1} alone
  ASSERT_TRUE(odd.ok()) << odd.status();
  Communicator& sub = **odd;
  EXPECT_EQ(sub.size(), r % 2 == 0 ? 2 : 1);
  EXPECT_EQ(sub.rank(), r == 0 ? 1 : 0);
  EXPECT_EQ(sub.group(), "world/split " + std::to_string(r % 2));
  Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
  t.set(0, r + 1);
  ASSERT_TRUE(sub.allreduce_now(t, ReduceOp::kSum).ok());
  EXPECT_EQ(t.at(0), r % 2 == 0 ? 4 : 2);
  EXPECT_EQ(sub.allgather(t, Tensor::empty(host_memory(), {5}, DType::kF64))->wait().code(),
            absl::StatusCode::kInvalidArgument);

  if (r < 2) {  // tags keep two messages of one pair apart
    Tensor a = Tensor::empty(host_memory(), {2}, DType::kI32), b = Tensor::empty(host_memory(), {2}, DType::kI32);
    if (r == 0) {
      a.data<int32_t>()[0] = 5;
      b.data<int32_t>()[0] = 6;
      auto s1 = c.send(a, 1, 5), s2 = c.send(b, 1, 6);
      ASSERT_TRUE(s1->wait().ok() && s2->wait().ok());
    } else {
      ASSERT_TRUE(c.recv(b, 0, 6)->wait().ok());
      ASSERT_TRUE(c.recv(a, 0, 5)->wait().ok());
      EXPECT_EQ(a.data<int32_t>()[0], 5);
      EXPECT_EQ(b.data<int32_t>()[0], 6);
    }
  }

  rendezvous::CollectiveStore store(c);
  const auto deadline = rendezvous::Store::Clock::now() + std::chrono::seconds(30);
  ASSERT_TRUE(store.set("addr/" + std::to_string(r), std::string(r + 1, 'x')).ok());
  ASSERT_TRUE(store.wait({"addr/0", "addr/1", "addr/2"}, deadline).ok());
  EXPECT_EQ(*store.get("addr/2", deadline), "xxx");
  ASSERT_TRUE(c.barrier()->wait().ok());
}

}  // namespace
}  // namespace ty
