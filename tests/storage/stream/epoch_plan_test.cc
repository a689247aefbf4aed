// EpochPlan: each record exactly once per epoch, windows that are contiguous runs of the
// shard-ordered concatenation, and an order fixed by (seed, epoch).
#include "storage/stream/epoch_plan.h"

#include <set>

#include "gtest/gtest.h"

namespace ty {
namespace {

std::vector<RecordRef> order(const EpochPlan& p) {
  std::vector<RecordRef> out;
  for (int64_t i = 0; i < p.size(); ++i) out.push_back(p.at(i));
  return out;
}

TEST(EpochPlan, EveryRecordOncePerEpochWithEmptyShards) {
  const std::vector<int64_t> counts{7, 0, 13, 1, 0, 9};
  for (int64_t window : {1, 4, 10, 30, 1000}) {
    for (int64_t epoch : {0, 1, 5}) {
      EpochPlan p(counts, window, 42, epoch);
      ASSERT_EQ(p.size(), 30);
      std::set<std::pair<int, int64_t>> seen;
      for (const RecordRef& r : order(p)) {
        ASSERT_GE(r.shard, 0);
        ASSERT_LT(r.record, counts[r.shard]);
        seen.insert({r.shard, r.record});
      }
      EXPECT_EQ(seen.size(), 30u) << "window " << window << " epoch " << epoch;
    }
  }
}

TEST(EpochPlan, WindowsAreContiguousRunsOfTheShardOrder) {
  const std::vector<int64_t> counts{50, 20, 30};
  EpochPlan p(counts, 16, 7, 3);
  EXPECT_EQ(p.windows(), 7);
  for (int64_t w = 0; w < p.windows(); ++w) {
    std::set<std::pair<int, int64_t>> in_window, unshuffled;
    for (int64_t i = w * 16; i < std::min<int64_t>(p.size(), (w + 1) * 16); ++i) {
      const RecordRef a = p.at(i), b = p.unshuffled(i);
      in_window.insert({a.shard, a.record});
      unshuffled.insert({b.shard, b.record});
    }
    EXPECT_EQ(in_window, unshuffled) << "window " << w;
  }
  // Unshuffled, the shards come whole, one after another, in shard_order().
  int64_t pos = 0;
  for (int s : p.shard_order())
    for (int64_t r = 0; r < counts[s]; ++r, ++pos) EXPECT_EQ(p.unshuffled(pos), (RecordRef{s, r}));
}

TEST(EpochPlan, OrderDependsOnSeedAndEpochOnly) {
  const std::vector<int64_t> counts{100, 100, 100, 100};
  EXPECT_EQ(order(EpochPlan(counts, 64, 1, 2)), order(EpochPlan(counts, 64, 1, 2)));
  EXPECT_NE(order(EpochPlan(counts, 64, 1, 2)), order(EpochPlan(counts, 64, 1, 3)));
  EXPECT_NE(order(EpochPlan(counts, 64, 1, 2)), order(EpochPlan(counts, 64, 2, 2)));
  // Shard order changes between epochs too.
  std::set<std::vector<int>> orders;
  for (int e = 0; e < 10; ++e) orders.insert(EpochPlan(counts, 64, 1, e).shard_order());
  EXPECT_GT(orders.size(), 1u);
}

}  // namespace
}  // namespace ty
