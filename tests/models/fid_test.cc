// FID against closed forms: zero for equal sets; for covariances with a common eigenbasis
// (rotated away from the axes, so the matrix square root is really exercised) it is
// |Δmu|² + Σ (√a_i - √b_i)²; moments match numpy.cov's (n - 1) convention.
#include "models/fid.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace ty {
namespace {

// R diag(e) Rᵀ for the rotation R by `angle` in the (0, 1) plane, identity elsewhere.
std::vector<double> rotated(const std::vector<double>& e, double angle) {
  const int64_t d = static_cast<int64_t>(e.size());
  std::vector<double> r(static_cast<size_t>(d * d), 0.0), m(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) r[static_cast<size_t>(i * d + i)] = 1;
  r[0] = std::cos(angle);
  r[1] = -std::sin(angle);
  r[static_cast<size_t>(d)] = std::sin(angle);
  r[static_cast<size_t>(d + 1)] = std::cos(angle);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j)
      for (int64_t k = 0; k < d; ++k)
        m[static_cast<size_t>(i * d + j)] +=
            r[static_cast<size_t>(i * d + k)] * e[static_cast<size_t>(k)] * r[static_cast<size_t>(j * d + k)];
  return m;
}

FeatureMoments moments(std::vector<double> mean, std::vector<double> cov) {
  FeatureMoments m;
  m.d = static_cast<int64_t>(mean.size());
  m.n = 100;
  m.mean = std::move(mean);
  m.covariance = std::move(cov);
  return m;
}

TEST(Fid, ClosedFormsAndZeroForEqualSets) {
  const std::vector<double> ea{4.0, 1.0, 0.25}, eb{1.0, 9.0, 0.0};
  const FeatureMoments a = moments({1, 2, 3}, rotated(ea, 0.7)), b = moments({0, 2, 5}, rotated(eb, 0.7));
  double want = 1 + 0 + 4;
  for (size_t i = 0; i < 3; ++i) want += std::pow(std::sqrt(ea[i]) - std::sqrt(eb[i]), 2);
  auto f = frechet_distance(a, b);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_NEAR(*f, want, 1e-9);
  auto same = frechet_distance(a, a);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(*same, 0.0, 1e-9);
  auto sym = frechet_distance(b, a);  // symmetric in its arguments
  ASSERT_TRUE(sym.ok());
  EXPECT_NEAR(*sym, want, 1e-9);
  EXPECT_FALSE(frechet_distance(a, moments({0}, {1})).ok());
}

TEST(Fid, EigenDecompositionReconstructs) {
  const std::vector<double> m = rotated({3.0, -1.0, 2.0, 0.5}, 0.3);
  std::vector<double> values, vectors;
  ASSERT_TRUE(symmetric_eigen(m, 4, values, &vectors).ok());
  std::vector<double> only;
  ASSERT_TRUE(symmetric_eigen(m, 4, only, nullptr).ok());
  for (size_t k = 0; k < 4; ++k) EXPECT_NEAR(only[k], values[k], 1e-12);
  EXPECT_NEAR(values[0], -1.0, 1e-12);  // ascending
  EXPECT_NEAR(values[3], 3.0, 1e-12);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      double v = 0;
      for (int64_t k = 0; k < 4; ++k) v += vectors[i * 4 + k] * values[k] * vectors[j * 4 + k];
      EXPECT_NEAR(v, m[i * 4 + j], 1e-12);
    }
}

TEST(Fid, MomentsAreNumpysCovariance) {
  FeatureMomentsAccumulator acc(2);
  const float rows[] = {1, 2, 3, 6, 5, 10};  // (1, 2), (3, 6), (5, 10)
  acc.add(rows, 2);
  acc.add(rows + 4, 1);
  auto m = acc.moments();
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->mean[0], 3.0);
  EXPECT_DOUBLE_EQ(m->mean[1], 6.0);
  EXPECT_DOUBLE_EQ(m->covariance[0], 4.0);   // var(1, 3, 5)
  EXPECT_DOUBLE_EQ(m->covariance[1], 8.0);   // cov
  EXPECT_DOUBLE_EQ(m->covariance[3], 16.0);  // var(2, 6, 10)
  FeatureMomentsAccumulator one(2);
  one.add(rows, 1);
  EXPECT_FALSE(one.moments().ok());
  // Two samples of the same Gaussian come out close; FID grows with a shifted mean.
  std::mt19937 rng(3);
  std::normal_distribution<float> n01;
  FeatureMomentsAccumulator x(8), y(8), z(8);
  std::vector<float> row(8);
  for (int i = 0; i < 20000; ++i) {
    for (float& v : row) v = n01(rng);
    x.add(row.data(), 1);
    for (float& v : row) v = n01(rng);
    y.add(row.data(), 1);
    for (float& v : row) v = n01(rng) + 1.0f;
    z.add(row.data(), 1);
  }
  const double near = *frechet_distance(*x.moments(), *y.moments()), far = *frechet_distance(*x.moments(), *z.moments());
  EXPECT_LT(near, 0.02);
  EXPECT_NEAR(far, 8.0, 0.2);
}

}  // namespace
}  // namespace ty
