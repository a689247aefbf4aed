// Pointwise kernels (a kernel family, optional for a backend): elementwise arithmetic over
// memory (any layout, the same in and out), reductions, per-channel bias and sums (in any
// layout the backend takes for this family), dropout and one-hot rows.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace ty {

class PointwiseKernels {
 public:
  virtual ~PointwiseKernels() = default;
  virtual void add(const Tensor& a, const Tensor& b, Tensor& y) = 0;     // y = a + b
  virtual void mul(const Tensor& a, const Tensor& b, Tensor& y) = 0;     // y = a * b
  virtual void accumulate(Tensor& y, const Tensor& x) = 0;               // y += x
  virtual void axpby(float a, const Tensor& x, float b, Tensor& y) = 0;  // y = a x + b y
  // y (1) = scale * sum(x), summed in double.
  virtual void sum(const Tensor& x, double scale, Tensor& y) = 0;
  // y[i] = s[0] * scale for every element (the backward of a sum).
  virtual void broadcast_scalar(const Tensor& s, double scale, Tensor& y) = 0;
  // y (cols) = the sums of x's columns, x viewed as (rows, cols) with cols = y.numel().
  virtual void column_sums(const Tensor& x, Tensor& y) = 0;
  // Per channel of x (N, C, ...): y = x + bias[c] (bias (C)); sums (C) = the sums of x over
  // all but the channel axis.
  virtual void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) = 0;
  virtual void channel_sums(const Tensor& x, Tensor& sums) = 0;
  // mask[i] = 1/(1-p) or 0 from Philox(seed, stream) number first + i (any first; the
  // same numbers on every backend), y = x * mask.
  virtual void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
                       Tensor& y) = 0;
  // labels i32 (N) in [0, C) -> y (N, C), one-hot rows.
  virtual void one_hot(const Tensor& labels, Tensor& y) = 0;
};

#define TY_POINTWISE_KERNELS                                                                                      \
  void add(const Tensor& a, const Tensor& b, Tensor& y) override;                                                 \
  void mul(const Tensor& a, const Tensor& b, Tensor& y) override;                                                 \
  void accumulate(Tensor& y, const Tensor& x) override;                                                           \
  void axpby(float a, const Tensor& x, float b, Tensor& y) override;                                              \
  void sum(const Tensor& x, double scale, Tensor& y) override;                                                    \
  void broadcast_scalar(const Tensor& s, double scale, Tensor& y) override;                                       \
  void column_sums(const Tensor& x, Tensor& y) override;                                                          \
  void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) override;                                 \
  void channel_sums(const Tensor& x, Tensor& sums) override;                                                      \
  void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask, Tensor& y) \
      override;                                                                                                   \
  void one_hot(const Tensor& labels, Tensor& y) override;

}  // namespace ty
