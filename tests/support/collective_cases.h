// The collective cases every backend runs (in-process and UCX with ranks as threads, MPI
// under mpirun): one list, so the backends are held to the same behaviour.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>

#include "comm/communicator.h"
#include "gtest/gtest.h"

namespace ty::collective_cases {

inline Tensor filled(int64_t n, DType dt, const std::function<double(int64_t)>& f) {
  Tensor t = Tensor::empty(host_memory(), {n}, dt);
  for (int64_t i = 0; i < n; ++i) t.set(i, f(i));
  return t;
}

// Sum, average and max of f32 and f64 buffers from empty to 800 KB (on the transport
// backends: up to 64 KiB by recursive doubling, above by the ring in 256 KiB pieces).
inline void allreduce_sum_avg_max_uneven_sizes(Communicator& c) {
  const int w = c.size();
  for (int64_t n : {0, 1, 7, 1000, 100000})
    for (DType dt : {DType::kF32, DType::kF64}) {
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
    }
}

// Broadcast from every root, allgather, reduce-scatter, barrier, and a ring of tagged
// send/recv.
inline void broadcast_allgather_reduce_scatter_barrier_send_recv(Communicator& c) {
  const int w = c.size();
  {
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
  }
}

// Allreduce of random values (with +0/-0 and NaN among them) leaves the same bits on every
// rank, by recursive doubling (1000 elements) and by the ring (100000). Not in all(): MPI
// does not promise it.
inline void bitwise_identical_across_ranks(Communicator& c) {
  for (int64_t n : {1000, 100000})
    for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMax}) {
      std::mt19937 gen(static_cast<uint32_t>(c.rank() * 7919 + n));
      std::uniform_real_distribution<float> u(-1, 1);
      Tensor t = Tensor::empty(host_memory(), {n});
      for (int64_t i = 0; i < n; ++i)
        t.data<float>()[i] = i % 10 == 0 ? (c.rank() % 2 ? -0.0f : 0.0f)
                             : i % 97 == 0 ? std::nanf(std::to_string(c.rank() + 1).c_str())
                                           : u(gen);
      ASSERT_TRUE(c.allreduce(t, op)->wait().ok());
      Tensor all = Tensor::empty(host_memory(), {n * c.size()});
      ASSERT_TRUE(c.allgather(t, all)->wait().ok());
      for (int q = 0; q < c.size(); ++q)
        ASSERT_EQ(std::memcmp(all.data<float>() + q * n, t.data<float>(), n * sizeof(float)), 0)
            << "rank " << q << " holds other bits than rank " << c.rank() << " (" << n << " elements)";
    }
}

// Every case above, in order.
inline void all(Communicator& c) {
  allreduce_sum_avg_max_uneven_sizes(c);
  if (::testing::Test::HasFatalFailure()) return;
  broadcast_allgather_reduce_scatter_barrier_send_recv(c);
}

}  // namespace ty::collective_cases
