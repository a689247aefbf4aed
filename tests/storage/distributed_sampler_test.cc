#include "storage/distributed_sampler.h"

#include <map>

#include "gtest/gtest.h"

namespace ty {
namespace {

// Every sample of the epoch, gathered from all ranks.
std::map<int64_t, int> epoch_counts(int64_t n, int world, int64_t batch, Remainder rem, int64_t epoch,
                                    std::vector<std::vector<int64_t>>* order = nullptr) {
  std::map<int64_t, int> seen;
  for (int r = 0; r < world; ++r) {
    DistributedSampler s(n, 11, r, world, batch, rem);
    s.begin_epoch(epoch);
    for (int64_t step = 0; step < s.steps_per_epoch(); ++step) {
      auto b = s.local_batch(step);
      if (step < n / batch) {
        EXPECT_EQ(static_cast<int64_t>(b.size()), batch / world);
      }
      for (int64_t i : b) ++seen[i];
      if (order) order->push_back(b);
    }
  }
  return seen;
}

TEST(DistributedSampler, EverySampleOncePerEpochForWorldSizesOneToEight) {
  for (int w = 1; w <= 8; ++w) {
    const int64_t batch = 8 * w, n = 10 * batch;  // no remainder
    auto seen = epoch_counts(n, w, batch, Remainder::kDrop, 0);
    EXPECT_EQ(static_cast<int64_t>(seen.size()), n) << w;
    for (auto& [i, c] : seen) ASSERT_EQ(c, 1) << "sample " << i << " world " << w;
  }
}

TEST(DistributedSampler, RemainderPolicies) {
  const int w = 3;
  const int64_t batch = 6, n = 20;  // 3 full batches, 2 left over
  auto drop = epoch_counts(n, w, batch, Remainder::kDrop, 0);
  EXPECT_EQ(drop.size(), 18u);
  auto partial = epoch_counts(n, w, batch, Remainder::kPartial, 0);
  EXPECT_EQ(partial.size(), 18u);  // 2 left over < 3 ranks: no partial step
  auto pad = epoch_counts(n, w, batch, Remainder::kPad, 0);
  EXPECT_EQ(pad.size(), 20u);  // all seen; 4 padding samples seen twice
  int twice = 0;
  for (auto& [i, c] : pad) twice += c == 2;
  EXPECT_EQ(twice, 4);
  auto one = epoch_counts(n, 1, batch, Remainder::kPartial, 0);
  EXPECT_EQ(one.size(), 20u);  // one rank keeps the short last batch
}

TEST(DistributedSampler, GlobalBatchesDoNotDependOnWorldSize) {
  const int64_t n = 96, batch = 12;
  DistributedSampler one(n, 5, 0, 1, batch, Remainder::kDrop);
  one.begin_epoch(2);
  for (int w : {2, 3, 4, 6}) {
    std::vector<DistributedSampler> ranks;
    for (int r = 0; r < w; ++r) {
      ranks.emplace_back(n, 5, r, w, batch, Remainder::kDrop);
      ranks.back().begin_epoch(2);
    }
    for (int64_t step = 0; step < one.steps_per_epoch(); ++step) {
      std::vector<int64_t> joined;
      for (auto& s : ranks)
        for (int64_t i : s.local_batch(step)) joined.push_back(i);
      EXPECT_EQ(joined, one.local_batch(step)) << "world " << w << " step " << step;
    }
  }
}

}  // namespace
}  // namespace ty
