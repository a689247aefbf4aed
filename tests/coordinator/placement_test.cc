#include "coordinator/placement.h"

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

}  // namespace
}  // namespace ty::coordinator
