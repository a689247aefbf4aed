// Scales a host f32 or f64 tensor in place (the "avg" of a reduction: the sum times
// 1 / size), each element computed in double: the same numbers on every backend.
#pragma once

#include "runtime/tensor.h"

namespace ty {

inline void scale_in_place(Tensor& t, double s) {
  const int64_t n = t.numel();
  if (t.dtype() == DType::kF64) {
    double* p = t.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] *= s;
  } else {
    float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(p[i] * s);
  }
}

}  // namespace ty
