// Attention kernels (a kernel family, optional for a backend): moving heads between a
// sequence's feature columns and per-head matrices, and the causal softmax of attention
// scores. The products (queries by keys, weights by values) are the dense family's
// gemm_batched (ops/attention.cc). All tensors plain.
#pragma once

#include "runtime/tensor.h"

namespace ty {

class AttentionKernels {
 public:
  virtual ~AttentionKernels() = default;
  // out (N·heads, T, dh)[n·heads + h, t, j] = x (N, T, W)[n, t, offset + h·dh + j].
  virtual void heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& out) = 0;
  // Its inverse: writes those columns of x (N, T, W) from in (N·heads, T, dh), no others.
  virtual void heads_into(const Tensor& in, int64_t offset, int64_t heads, Tensor& x) = 0;
  // Scores s (B, Tq, Tk), query i at position Tk − Tq + i (a cache holds the keys before):
  // p[b, i, j] = softmax over j ≤ Tk − Tq + i of scale · s[b, i, j], and 0 for later keys.
  virtual void causal_softmax_forward(const Tensor& s, float scale, Tensor& p) = 0;
  // ds = scale · p ⊙ (dp − rowsum(p ⊙ dp)): the gradient of the scores.
  virtual void causal_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) = 0;
};

#define TY_ATTENTION_KERNELS                                                             \
  void heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& out) override; \
  void heads_into(const Tensor& in, int64_t offset, int64_t heads, Tensor& x) override;  \
  void causal_softmax_forward(const Tensor& s, float scale, Tensor& p) override;         \
  void causal_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) override;

}  // namespace ty
