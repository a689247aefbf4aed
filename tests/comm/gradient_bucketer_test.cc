// Gradient buckets over the in-process backend: averaging, reverse packing order, uneven
// bucket boundaries, a tensor larger than a bucket, zero-size and unused parameters.
#include <functional>
#include <thread>

#include "comm/gradient_bucketer.h"
#include "comm/inprocess/inprocess_communicator.h"
#include "gtest/gtest.h"

namespace ty {
namespace {

// Parameter k of rank r gets gradient value (r + 1) * (k + 1) + i at element i; the
// average over W ranks is (W + 1) / 2 * (k + 1) + i.
std::vector<Shape> shapes() { return {{3, 5}, {0}, {7}, {64, 40}, {2, 2, 3}, {1}, {9}}; }

void run_rank(Communicator& c, size_t bucket_bytes, int steps, std::vector<size_t>* sizes_out) {
  Context ctx;
  std::vector<Var> params;
  for (const Shape& s : shapes()) params.emplace_back(Tensor::empty(host_memory(), s), true);
  GradientBucketer bucketer(c, params, bucket_bytes);
  if (sizes_out) {
    for (size_t b = 0; b < bucketer.num_buckets(); ++b) sizes_out->push_back(bucketer.bucket_params(b).size());
    // Reverse order of use: the first bucket starts with the last parameter.
    EXPECT_EQ(bucketer.bucket_params(0).front(), params.size() - 1);
  }
  const int w = c.size(), r = c.rank();
  for (int step = 0; step < steps; ++step) {
    bucketer.begin_step();
    // Backward: gradients become final last-to-first; parameter 5 is unused this step.
    for (size_t k = params.size(); k-- > 0;) {
      if (k == 5) continue;
      Tensor g = params[k].value().empty_like();
      for (int64_t i = 0; i < g.numel(); ++i) g.set(i, (r + 1) * (k + 1) + i + step);
      params[k].accumulate_grad(ctx, g);
      params[k].state()->on_grad_ready(*params[k].state());
    }
    ASSERT_TRUE(bucketer.finish_step().ok());
    for (size_t k = 0; k < params.size(); ++k) {
      const Tensor& g = params[k].state()->grad;
      for (int64_t i = 0; i < g.numel(); ++i) {
        const double want = k == 5 ? 0.0 : (w + 1) / 2.0 * (k + 1) + i + step;
        ASSERT_NEAR(g.at(i), want, 1e-3) << "rank " << r << " param " << k << " element " << i;
      }
      params[k].zero_grad();
    }
  }
}

class Bucketing : public ::testing::TestWithParam<int> {};

TEST_P(Bucketing, AveragesAcrossRanksForManyBucketSizes) {
  const int w = GetParam();
  for (size_t bucket_bytes : {size_t{1}, size_t{100}, size_t{4096}, size_t{25} << 20}) {
    auto comms = InProcessCommunicator::create_group(w);
    std::vector<std::vector<size_t>> sizes(w);
    std::vector<std::thread> threads;
    for (int r = 0; r < w; ++r) threads.emplace_back([&, r] { run_rank(*comms[r], bucket_bytes, 3, &sizes[r]); });
    for (auto& t : threads) t.join();
    for (int r = 1; r < w; ++r) EXPECT_EQ(sizes[r], sizes[0]);
    size_t total = 0;
    for (size_t n : sizes[0]) total += n;
    EXPECT_EQ(total, shapes().size());
    if (bucket_bytes == 1) {
      EXPECT_EQ(sizes[0].size(), shapes().size() - 1);  // the zero-size tensor joins a neighbour
    } else if (bucket_bytes == (size_t{25} << 20)) {
      EXPECT_EQ(sizes[0].size(), 1u);
    } else if (bucket_bytes == 4096) {
      EXPECT_GE(sizes[0].size(), 2u);  // the 10 KiB tensor is alone
    }
  }
}

INSTANTIATE_TEST_SUITE_P(WorldSizes, Bucketing, ::testing::Values(1, 2, 3, 4, 5, 6, 7, 8));

TEST(Broadcast, ParametersFromRankZero) {
  auto comms = InProcessCommunicator::create_group(3);
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r)
    threads.emplace_back([&, r] {
      Tensor a = Tensor::empty(host_memory(), {4}), b = Tensor::empty(host_memory(), {2, 2}, DType::kF64);
      a.fill(r);
      b.fill(r + 0.5);
      ASSERT_TRUE(broadcast_tensors(*comms[r], {a, b}).ok());
      EXPECT_EQ(a.at(3), 0);
      EXPECT_EQ(b.at(0), 0.5);
    });
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace ty
