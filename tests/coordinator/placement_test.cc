#include "coordinator/placement.h"

#include <set>

#include "gtest/gtest.h"

namespace ty::coordinator {
namespace {

TEST(Placement, AllRanksOrNonePackedOntoFewWorkers) {
  std::string why;
  auto p = place(3, 0, {{"a", 1, 4}, {"b", 4, 4}, {"c", 2, 4}}, "slots", &why);
  ASSERT_TRUE(p) << why;
  ASSERT_EQ(p->size(), 3u);
  for (const RankPlace& r : *p) EXPECT_EQ(r.worker, "b");  // the one with room for all
  EXPECT_EQ((*p)[2].local_rank, 2);
  EXPECT_EQ((*p)[2].local_world_size, 3);
  p = place(5, 0, {{"a", 1, 4}, {"b", 4, 4}}, "slots", &why);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ((*p)[3].worker, "b");
  EXPECT_EQ((*p)[4].worker, "a");
  EXPECT_EQ((*p)[4].local_world_size, 1);
}

TEST(Placement, ANoteSaysWhyNotAndWhetherEver) {
  std::string why;
  EXPECT_FALSE(place(4, 0, {{"a", 1, 2}, {"b", 2, 2}}, "slots", &why));
  EXPECT_EQ(why, "needs 4 slots, 3 free");
  EXPECT_FALSE(place(5, 0, {{"a", 2, 2}, {"b", 2, 2}}, "slots", &why));
  EXPECT_EQ(why, "can never fit: needs 5 slots, the registered workers have 4");
  EXPECT_FALSE(place(3, 1, {{"a", 4, 4}, {"b", 4, 4}}, "slots", &why));
  EXPECT_EQ(why, "can never fit: needs 3 slots (at most 1 per worker), the registered workers have 2");
  auto p = place(2, 1, {{"a", 4, 4}, {"b", 4, 4}}, "slots", &why);
  ASSERT_TRUE(p) << why;
  EXPECT_NE((*p)[0].worker, (*p)[1].worker);
}

// A pipeline job: each replica's stages together on one worker, the replicas spread.
TEST(Placement, PipelineStagesTogetherReplicasSpread) {
  std::string why;
  // 2 replicas × 2 stages on two 8-slot workers: not all four on one.
  auto p = place(4, 0, {{"a", 8, 8}, {"b", 8, 8}}, "slots", &why, 2);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ((*p)[0].worker, (*p)[1].worker);
  EXPECT_EQ((*p)[2].worker, (*p)[3].worker);
  EXPECT_NE((*p)[0].worker, (*p)[2].worker);
  EXPECT_EQ((*p)[3].local_rank, 1);
  EXPECT_EQ((*p)[3].local_world_size, 2);
  // Without stages the same job packs onto one worker.
  p = place(4, 0, {{"a", 8, 8}, {"b", 8, 8}}, "slots", &why);
  ASSERT_TRUE(p) << why;
  for (const RankPlace& r : *p) EXPECT_EQ(r.worker, "a");
  // 3 replicas × 4 stages on workers of 8, 4 and 4 free slots: one replica each.
  p = place(12, 0, {{"a", 8, 8}, {"b", 4, 8}, {"c", 4, 4}}, "slots", &why, 4);
  ASSERT_TRUE(p) << why;
  std::set<std::string> used;
  for (int r = 0; r < 3; ++r) {
    for (int s = 1; s < 4; ++s) EXPECT_EQ((*p)[r * 4 + s].worker, (*p)[r * 4].worker) << "replica " << r;
    used.insert((*p)[r * 4].worker);
  }
  EXPECT_EQ(used.size(), 3u);
  // More replicas than workers: the second on each worker once every worker has one.
  p = place(8, 0, {{"a", 4, 4}, {"b", 4, 4}}, "slots", &why, 2);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ(((*p)[0].worker), "a");
  EXPECT_EQ(((*p)[2].worker), "b");
  EXPECT_EQ(((*p)[4].worker), "a");
  EXPECT_EQ(((*p)[6].worker), "b");
  EXPECT_EQ((*p)[4].local_rank, 2);
  EXPECT_EQ((*p)[4].local_world_size, 4);
  // A replica that fits on no worker is cut over the roomiest, in stage order.
  p = place(4, 0, {{"a", 3, 4}, {"b", 2, 4}}, "slots", &why, 4);
  ASSERT_TRUE(p) << why;
  EXPECT_EQ((*p)[0].worker, "a");
  EXPECT_EQ((*p)[2].worker, "a");
  EXPECT_EQ((*p)[3].worker, "b");
  EXPECT_EQ((*p)[3].local_world_size, 1);
}

}  // namespace
}  // namespace ty::coordinator
