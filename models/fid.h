// The Fréchet distance between two sets of feature vectors (FID, Heusel et al. 2017, in a
// classifier's feature space): each set summarized by its mean and covariance (Gaussian
// moments),
//   FID = |mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^½).
// The matrix square root's trace comes from two symmetric eigen-decompositions (LAPACK's
// dsyevd, Debian's liblapack3, opened at first use): S_a = V diag(l) Vᵀ gives
// S_a^½ = V diag(√l) Vᵀ, and
// tr((S_a S_b)^½) = Σ √eig(S_a^½ S_b S_a^½), the latter matrix symmetric positive
// semi-definite (eigenvalues below 0 from rounding count as 0). Double precision throughout.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

// Mean and covariance (divided by n - 1, as numpy.cov) of n feature vectors of dimension d.
struct FeatureMoments {
  int64_t n = 0, d = 0;
  std::vector<double> mean;        // (d)
  std::vector<double> covariance;  // (d, d), row-major
};

// Accumulates feature vectors (rows of a batch) in double; moments() at the end.
class FeatureMomentsAccumulator {
 public:
  explicit FeatureMomentsAccumulator(int64_t d) : d_(d), sum_(static_cast<size_t>(d)), outer_(static_cast<size_t>(d * d)) {}
  // `rows` vectors of d floats, row-major.
  void add(const float* features, int64_t rows);
  absl::StatusOr<FeatureMoments> moments() const;

 private:
  int64_t d_, n_ = 0;
  std::vector<double> sum_, outer_;
};

// FID between two sets' moments (same d); an error when LAPACK does not converge.
absl::StatusOr<double> frechet_distance(const FeatureMoments& a, const FeatureMoments& b);

// The eigenvalues (ascending) and, when `vectors` is given, in it (columns, row-major d × d)
// the eigenvectors of the symmetric d × d matrix `m` (dsyevd).
absl::Status symmetric_eigen(std::vector<double> m, int64_t d, std::vector<double>& values,
                             std::vector<double>* vectors);

}  // namespace ty
