#include "runtime/philox.h"

#include <set>

#include "gtest/gtest.h"

namespace ty {
namespace {

// Known-answer vectors of Philox4x32-10 (Random123's kat_vectors).
TEST(Philox, KnownAnswerZero) {
  Philox p(0, 0);
  auto b = p.block(0);
  EXPECT_EQ(b[0], 0x6627e8d5u);
  EXPECT_EQ(b[1], 0xe169c58du);
  EXPECT_EQ(b[2], 0xbc57ac4cu);
  EXPECT_EQ(b[3], 0x9b00dbd8u);
}

TEST(Philox, KnownAnswerAllOnes) {
  Philox p(~uint64_t{0}, ~uint64_t{0});
  auto b = p.block(~uint64_t{0});
  EXPECT_EQ(b[0], 0x408f276du);
  EXPECT_EQ(b[1], 0x41c83b0eu);
  EXPECT_EQ(b[2], 0xa20bc7c6u);
  EXPECT_EQ(b[3], 0x6d5451fdu);
}

TEST(Philox, SameSeedSameNumbersDifferentStreamsDiffer) {
  Philox a(42, 7), b(42, 7), c(42, 8), d(43, 7);
  int same_c = 0, same_d = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.u32(i), b.u32(i));
    same_c += a.u32(i) == c.u32(i);
    same_d += a.u32(i) == d.u32(i);
  }
  EXPECT_LT(same_c, 3);
  EXPECT_LT(same_d, 3);
}

TEST(Philox, UniformInUnitIntervalWithSaneMean) {
  Philox p(1, 2);
  double sum = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    float u = p.uniform(i);
    ASSERT_GE(u, 0.f);
    ASSERT_LT(u, 1.f);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 0.01);
}

TEST(Philox, NormalHasUnitVariance) {
  Philox p(3, 4);
  double s = 0, s2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double x = p.normal(i);
    s += x;
    s2 += x * x;
  }
  EXPECT_NEAR(s / n, 0.0, 0.02);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
}

TEST(DropoutStream, EachLayerAndStepHasItsOwnAboveTheOtherStreams) {
  std::set<uint64_t> seen;
  for (uint64_t layer = 0; layer < 4; ++layer)
    for (uint64_t step : {uint64_t{0}, uint64_t{1}, uint64_t{1} << 32, (uint64_t{1} << 48) - 1}) {
      const uint64_t s = dropout_stream(layer, step);
      EXPECT_GE(s, uint64_t{1} << 48) << "layer " << layer << ", step " << step;
      EXPECT_TRUE(seen.insert(s).second) << "layer " << layer << ", step " << step;
    }
}

}  // namespace
}  // namespace ty
