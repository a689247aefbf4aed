// Dense kernels (a kernel family, optional for a backend): matrix products and layout
// conversion. All tensors dense row-major unless their Layout says otherwise.
#pragma once

#include "runtime/tensor.h"

namespace ty {

class DenseKernels {
 public:
  virtual ~DenseKernels() = default;
  // dst = src, element by element, converting between their layouts (same shape, dtype).
  virtual void convert_layout(const Tensor& src, Tensor& dst) = 0;
  // c (M, N) = op(a) * op(b) + beta * c (+ bias (N) on every row, optional), where op(a) is
  // (M, K) and op(b) is (K, N); a is stored (K, M) when trans_a, b is stored (N, K) when
  // trans_b.
  virtual void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,
                    const Tensor* bias = nullptr) = 0;
  // The same for each of B matrix pairs: c (B, M, N) = op(a) op(b) + beta * c, a (B, M, K)
  // or (B, K, M), b (B, K, N) or (B, N, K) (attention's scores and weighted sums).
  virtual void gemm_batched(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta) = 0;
};

// The overrides a backend class declares to implement the family (written once, here).
#define TY_DENSE_KERNELS                                                                         \
  void convert_layout(const Tensor& src, Tensor& dst) override;                                  \
  void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta, \
            const Tensor* bias = nullptr) override;                                              \
  void gemm_batched(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta) override;

}  // namespace ty
