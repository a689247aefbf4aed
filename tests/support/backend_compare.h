// Helpers for backend conformance tests (one kernel on two backends): random inputs,
// NaN-poisoned outputs so that an unwritten element shows, and the normalized error
// ||got - want|| / ||want||, with NaN/Inf in either side a failure.
#pragma once

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "runtime/tensor.h"

namespace ty {

// f32 values uniform in [lo, hi).
inline Tensor random_tensor(Shape s, std::mt19937& rng, double lo = -1, double hi = 1) {
  Tensor t = Tensor::empty(host_memory(), std::move(s));
  std::uniform_real_distribution<float> u(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

inline Tensor poisoned_tensor(Shape s) {
  Tensor t = Tensor::empty(host_memory(), std::move(s));
  t.fill(std::nan(""));
  return t;
}

// Host tensors of the same numel.
inline ::testing::AssertionResult normalized_error_within(const Tensor& got, const Tensor& want, double tol) {
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = got.at(i), b = want.at(i);
    if (!std::isfinite(a)) return ::testing::AssertionFailure() << "element " << i << " is " << a;
    if (!std::isfinite(b)) return ::testing::AssertionFailure() << "reference element " << i << " is " << b;
    diff += (a - b) * (a - b);
    norm += b * b;
  }
  const double err = std::sqrt(diff / std::max(norm, 1e-30));
  if (err <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "normalized error " << err << " > " << tol << " for "
                                       << shape_str(got.shape());
}

}  // namespace ty
