#include "models/metrics.h"

#include "gtest/gtest.h"

namespace ty {
namespace {

TEST(Metrics, AccuracyConfusionAndMeanLoss) {
  MetricsAccumulator m(3);
  Tensor logits = Tensor::empty(host_memory(), {4, 3});
  const float v[] = {5, 0, 0, 0, 5, 0, 0, 0, 5, 5, 0, 0};  // predicts 0, 1, 2, 0
  for (int i = 0; i < 12; ++i) logits.set(i, v[i]);
  Tensor labels = Tensor::empty(host_memory(), {4}, DType::kI32);
  const int32_t l[] = {0, 1, 1, 2};
  for (int i = 0; i < 4; ++i) labels.data<int32_t>()[i] = l[i];
  m.add(logits, labels, 2.0);
  m.add(logits.rows(0, 2), labels.rows(0, 2), 0.5);
  EXPECT_EQ(m.count(), 6);
  EXPECT_DOUBLE_EQ(m.accuracy(), 4.0 / 6);
  EXPECT_DOUBLE_EQ(m.loss(), (2.0 * 4 + 0.5 * 2) / 6);
  auto c = m.confusion();
  EXPECT_EQ(c[0][0], 2);
  EXPECT_EQ(c[1][1], 2);
  EXPECT_EQ(c[1][2], 1);
  EXPECT_EQ(c[2][0], 1);
}

TEST(Metrics, RegressionMse) {
  MetricsAccumulator m(0);
  Tensor p = Tensor::empty(host_memory(), {2, 1}), t = Tensor::empty(host_memory(), {2, 1});
  p.set(0, 1);
  p.set(1, 3);
  t.set(0, 0);
  t.set(1, 1);
  m.add(p, t, 2.5);
  EXPECT_FALSE(m.classification());
  EXPECT_DOUBLE_EQ(m.mse(), 2.5);
}

}  // namespace
}  // namespace ty
