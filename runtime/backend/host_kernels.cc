#include "runtime/backend/host_kernels.h"
#include "runtime/backend/host_simd.h"

#include <algorithm>
#include <cmath>

#include "runtime/philox.h"
#include "runtime/philox_math.h"

namespace ty {
namespace {

int64_t rows_of(const Tensor& x) { return x.ndim() > 0 ? x.dim(0) : 1; }

template <class T>
__attribute__((always_inline)) inline void sgd_loop(int64_t n, T* __restrict p, const T* __restrict g,
                                                    T* __restrict buf, const SgdStep& s) {
  if (s.use_buf) {
    for (int64_t j = 0; j < n; ++j) sgd_element(p[j], g[j], buf + j, s);
  } else {
    for (int64_t j = 0; j < n; ++j) sgd_element<T>(p[j], g[j], nullptr, s);
  }
}

template <class T>
__attribute__((always_inline)) inline void adam_loop(int64_t n, T* __restrict p, const T* __restrict g, T* __restrict m,
                                                     T* __restrict v, const AdamStep& s) {
  for (int64_t j = 0; j < n; ++j) adam_element(p[j], g[j], m[j], v[j], s);
}

TY_HOT_CLONES void sgd_f32(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict buf,
                           const SgdStep& s) {
  sgd_loop<float>(n, p, g, buf, s);
}

TY_HOT_CLONES void adam_f32(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict m,
                            float* __restrict v, const AdamStep& s) {
  adam_loop<float>(n, p, g, m, v, s);
}

}  // namespace

void HostKernels::add(const Tensor& a, const Tensor& b, Tensor& y) {
  TY_DISPATCH_FLOAT(y.dtype(), T, {
    const T *A = a.data<T>(), *B = b.data<T>();
    T* Y = y.data<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) Y[i] = A[i] + B[i];
  });
}

void HostKernels::mul(const Tensor& a, const Tensor& b, Tensor& y) {
  TY_DISPATCH_FLOAT(y.dtype(), T, {
    const T *A = a.data<T>(), *B = b.data<T>();
    T* Y = y.data<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) Y[i] = A[i] * B[i];
  });
}

void HostKernels::accumulate(Tensor& y, const Tensor& x) {
  TY_DISPATCH_FLOAT(y.dtype(), T, {
    const T* X = x.data<T>();
    T* Y = y.data<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) Y[i] += X[i];
  });
}

void HostKernels::axpby(float a, const Tensor& x, float b, Tensor& y) {
  TY_DISPATCH_FLOAT(y.dtype(), T, {
    const T* X = x.data<T>();
    T* Y = y.data<T>();
    for (int64_t i = 0, n = y.numel(); i < n; ++i) Y[i] = T(a) * X[i] + T(b) * Y[i];
  });
}

void HostKernels::sum(const Tensor& x, double scale, Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* X = x.data<T>();
    double acc = 0;
    for (int64_t i = 0, n = x.numel(); i < n; ++i) acc += X[i];
    y.data<T>()[0] = static_cast<T>(acc * scale);
  });
}

void HostKernels::broadcast_scalar(const Tensor& s, double scale, Tensor& y) { y.fill(s.at(0) * scale); }

void HostKernels::column_sums(const Tensor& x, Tensor& y) {
  const int64_t f = y.numel(), n = x.numel() / std::max<int64_t>(f, 1);
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* G = x.data<T>();
    T* D = y.data<T>();
    for (int64_t j = 0; j < f; ++j) D[j] = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < f; ++j) D[j] += G[i * f + j];
  });
}

namespace {
// Walks x (N, C, ...) in memory order without index arithmetic: plain(first element,
// channel, count) for each channel plane of the plain layout; blocked(first element, first
// channel) for each 16-lane block (16 channels) of the blocked layout.
template <class Plain, class Blocked>
void for_each_channel_run(const Tensor& x, Plain plain, Blocked blocked) {
  const int64_t n = x.dim(0), c = x.ndim() > 1 ? x.dim(1) : 1, s = x.numel() / std::max<int64_t>(n * c, 1);
  if (x.layout() == Layout::kBlocked16) {  // (N, C/16, S, 16)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t cb = 0; cb < c / 16; ++cb)
        for (int64_t j = 0; j < s; ++j) blocked(((i * (c / 16) + cb) * s + j) * 16, cb * 16);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch) plain((i * c + ch) * s, ch, s);
}
}  // namespace

void HostKernels::add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T *X = x.data<T>(), *B = bias.data<T>();
    T* Y = y.data<T>();
    for_each_channel_run(
        x,
        [&](int64_t o, int64_t ch, int64_t s) {
          const T b = B[ch];
          for (int64_t j = 0; j < s; ++j) Y[o + j] = X[o + j] + b;
        },
        [&](int64_t o, int64_t ch0) {
          for (int64_t l = 0; l < 16; ++l) Y[o + l] = X[o + l] + B[ch0 + l];
        });
  });
}

void HostKernels::channel_sums(const Tensor& x, Tensor& sums) {
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* X = x.data<T>();
    T* S = sums.data<T>();
    for (int64_t ch = 0; ch < sums.numel(); ++ch) S[ch] = 0;
    for_each_channel_run(
        x,
        [&](int64_t o, int64_t ch, int64_t s) {
          T acc = 0;
          for (int64_t j = 0; j < s; ++j) acc += X[o + j];
          S[ch] += acc;
        },
        [&](int64_t o, int64_t ch0) {
          for (int64_t l = 0; l < 16; ++l) S[ch0 + l] += X[o + l];
        });
  });
}

void HostKernels::add_sum_squares(const Tensor& x, Tensor& acc) {
  double sq = 0;
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* G = x.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) sq += double(G[i]) * G[i];
  });
  acc.data<double>()[0] += sq;
}

void HostKernels::clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) {
  const double norm = std::sqrt(sq.data<double>()[0]);
  if (!(norm > max_norm)) return;
  const double scale = max_norm / (norm + 1e-6);
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    T* G = x.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) G[i] = T(G[i] * scale);
  });
}

void HostKernels::dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
                          Tensor& y) {
  const Philox rng(seed, stream);
  const int64_t n = x.numel();
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T scale = T(1) / (T(1) - T(p));
    T* M = mask.data<T>();
    T* Y = y.data<T>();
    const T* X = x.data<T>();
    // Number first + i is word (first + i) % 4 of block (first + i) / 4.
    std::array<uint32_t, 4> r{};
    uint64_t block = ~uint64_t{0};
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t number = first + static_cast<uint64_t>(i);
      if (number / 4 != block) r = rng.block(block = number / 4);
      M[i] = philox_unit_float(r[number % 4]) >= p ? scale : T(0);
      Y[i] = X[i] * M[i];
    }
  });
}

// loss = mean_i [ -sum_c q_ic * logp_ic ], q = (1 - s) * onehot + s / C.
void HostKernels::cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) {
  const int64_t n = rows_of(logp), c = logp.numel() / std::max<int64_t>(n, 1);
  const int32_t* L = labels.data<int32_t>();
  TY_DISPATCH_FLOAT(logp.dtype(), T, {
    const T* P = logp.data<T>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (L[i] < 0) continue;  // left out
      double row = -(1.0 - smoothing) * P[i * c + L[i]];
      if (smoothing > 0) {
        double s = 0;
        for (int64_t j = 0; j < c; ++j) s += P[i * c + j];
        row -= smoothing / c * s;
      }
      total += row;
    }
    loss.data<T>()[0] = static_cast<T>(total / std::max<int64_t>(n, 1));
  });
}

// d/dx = (softmax(x) - q) / N.
void HostKernels::cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                                         Tensor& dx) {
  const int64_t n = rows_of(logp), c = logp.numel() / std::max<int64_t>(n, 1);
  const int32_t* L = labels.data<int32_t>();
  TY_DISPATCH_FLOAT(dx.dtype(), T, {
    const T* P = logp.data<T>();
    T* D = dx.data<T>();
    const T scale = T(dloss.at(0)) / T(std::max<int64_t>(n, 1));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < c; ++j) {
        T q = T(smoothing / c) + (j == L[i] ? T(1 - smoothing) : T(0));
        D[i * c + j] = L[i] < 0 ? T(0) : (std::exp(P[i * c + j]) - q) * scale;
      }
  });
}

void HostKernels::mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) {
  const int64_t n = pred.numel();
  TY_DISPATCH_FLOAT(pred.dtype(), T, {
    const T *P = pred.data<T>(), *Q = target.data<T>();
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += double(P[i] - Q[i]) * (P[i] - Q[i]);
    loss.data<T>()[0] = static_cast<T>(acc / std::max<int64_t>(n, 1));
  });
}

void HostKernels::mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) {
  const int64_t n = pred.numel();
  TY_DISPATCH_FLOAT(dx.dtype(), T, {
    const T *P = pred.data<T>(), *Q = target.data<T>();
    T* D = dx.data<T>();
    const T scale = T(2) * T(dloss.at(0)) / T(std::max<int64_t>(n, 1));
    for (int64_t i = 0; i < n; ++i) D[i] = (P[i] - Q[i]) * scale;
  });
}

// loss = mean( max(x, 0) - x * t + log(1 + exp(-|x|)) ); d/dx = (sigmoid(x) - t) / N.
void HostKernels::bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) {
  const int64_t n = logits.numel();
  TY_DISPATCH_FLOAT(logits.dtype(), T, {
    const T *X = logits.data<T>(), *Q = target.data<T>();
    double acc = 0;
    for (int64_t i = 0; i < n; ++i)
      acc += std::max<double>(X[i], 0) - double(X[i]) * Q[i] + std::log1p(std::exp(-std::fabs(double(X[i]))));
    loss.data<T>()[0] = static_cast<T>(acc / std::max<int64_t>(n, 1));
  });
}

void HostKernels::bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) {
  const int64_t n = logits.numel();
  TY_DISPATCH_FLOAT(dx.dtype(), T, {
    const T *X = logits.data<T>(), *Q = target.data<T>();
    T* D = dx.data<T>();
    const T scale = T(dloss.at(0)) / T(std::max<int64_t>(n, 1));
    for (int64_t i = 0; i < n; ++i) D[i] = (T(1) / (T(1) + std::exp(-X[i])) - Q[i]) * scale;
  });
}

void HostKernels::one_hot(const Tensor& labels, Tensor& y) {
  const int64_t n = labels.numel(), c = y.numel() / std::max<int64_t>(n, 1);
  y.zero();
  const int32_t* L = labels.data<int32_t>();
  TY_DISPATCH_FLOAT(y.dtype(), T, {
    T* Y = y.data<T>();
    for (int64_t i = 0; i < n; ++i) Y[i * c + L[i]] = T(1);
  });
}

void HostKernels::sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) {
  if (p.dtype() == DType::kF32) {
    sgd_f32(p.numel(), p.data<float>(), g.data<float>(), buf ? buf->data<float>() : nullptr, s);
  } else {
    sgd_loop<double>(p.numel(), p.data<double>(), g.data<double>(), buf ? buf->data<double>() : nullptr, s);
  }
}

void HostKernels::adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) {
  if (p.dtype() == DType::kF32) {
    adam_f32(p.numel(), p.data<float>(), g.data<float>(), m.data<float>(), v.data<float>(), s);
  } else {
    adam_loop<double>(p.numel(), p.data<double>(), g.data<double>(), m.data<double>(), v.data<double>(), s);
  }
}

}  // namespace ty
