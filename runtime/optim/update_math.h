// The per-element optimizer updates, one definition for the CPU loops (sgd.cc, adam.cc)
// and the fused CUDA kernels (backend/cuda/optimizer_kernels.cu).
#pragma once

#include <cmath>

#include "runtime/host_device.h"

namespace ty {

struct SgdStep {
  float lr, wd, momentum;
  bool use_buf, first, nesterov;
};

// p -= lr * direction, with the momentum buffer (optional) updated in place.
template <class T>
TY_HD inline void sgd_element(T& p, T g, T* buf, const SgdStep& s) {
  T d = g + T(s.wd) * p;
  if (s.use_buf) {
    *buf = s.first ? d : T(s.momentum) * *buf + d;
    d = s.nesterov ? d + T(s.momentum) * *buf : *buf;
  }
  p -= T(s.lr) * d;
}

// Adam / AdamW. step = lr / (1 - beta1^t); rbc2 = 1 / sqrt(1 - beta2^t); decay = 1 - lr * wd
// for AdamW (else 1); l2 = wd for Adam (else 0).
struct AdamStep {
  float b1, b2, eps, step, rbc2, decay, l2;
};

template <class T>
TY_HD inline void adam_element(T& p, T g, T& m, T& v, const AdamStep& s) {
  using std::sqrt;
  const T d = g + T(s.l2) * p;
  m = T(s.b1) * m + (T(1) - T(s.b1)) * d;
  v = T(s.b2) * v + (T(1) - T(s.b2)) * d * d;
  p = p * T(s.decay) - T(s.step) * m / (sqrt(v) * T(s.rbc2) + T(s.eps));
}

}  // namespace ty
