// Attention kernels (a kernel family, optional for a backend): moving heads between a
// sequence's feature columns and per-head matrices, and the masked softmax of attention
// scores (causal, key padding, or both). The products (queries by keys, weights by values) are the dense family's
// gemm_batched (ops/attention.cc). All tensors plain.
#pragma once

#include "runtime/tensor.h"

namespace ty {

// The most keys a query of gathered_attention sees on CUDA (its scores in a block's 48 KiB
// of shared memory).
inline constexpr int64_t kGatheredAttentionMaxKeysCuda = 12288;

class AttentionKernels {
 public:
  virtual ~AttentionKernels() = default;
  // out (N·heads, T, dh)[n·heads + h, t, j] = x (N, T, W)[n, t, offset + h·dh + j].
  virtual void heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& out) = 0;
  // Its inverse: writes those columns of x (N, T, W) from in (N·heads, T, dh), no others.
  virtual void heads_into(const Tensor& in, int64_t offset, int64_t heads, Tensor& x) = 0;
  // Scores s (B, Tq, Tk) -> p: row i of matrix b is the softmax of scale · s[b, i, j] over
  // the keys j it sees, 0 for the others. It sees key j when j < key_len[b / heads] (every
  // key when key_len is null: key_len is i32 (B / heads) on the backend's device: a batch's
  // source lengths, its padding masked) and, when `causal`, j ≤ Tk − Tq + i (query i stands
  // at position Tk − Tq + i: a cache holds the keys before). A row that sees no key is 0.
  virtual void masked_softmax_forward(const Tensor& s, float scale, bool causal, const Tensor* key_len, int64_t heads,
                                      Tensor& p) = 0;
  // ds = scale · p ⊙ (dp − rowsum(p ⊙ dp)): the gradient of the scores (0 where p is).
  virtual void masked_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) = 0;
  // Single-query attention for decoding, keys and values read through a row index: query r
  // (the first D columns of q (N, ·), D = y's width, cut into `heads` heads of dh) attends to
  // the rows table[index[r, j]] for j < len[r] (table (M, W); index (N, T) i32 with values
  // in [0, M); len (N) i32, each at most T; both on the backend's device), whose keys are
  // columns [k_offset + h·dh, + dh) and values [v_offset + h·dh, + dh):
  // y (N, D)[r, h·dh + i] = Σ_j softmax_j(scale · q_rh · k_jh) v_jh[i]; a row that sees no
  // key is 0. A beam's hypotheses share their ancestors' rows, and the sentences' memory
  // rows, without copies.
  virtual void gathered_attention(const Tensor& q, const Tensor& table, int64_t k_offset, int64_t v_offset,
                                  const Tensor& index, const Tensor& len, int64_t heads, float scale, Tensor& y) = 0;
  void causal_softmax_forward(const Tensor& s, float scale, Tensor& p) {
    masked_softmax_forward(s, scale, true, nullptr, 1, p);
  }
};

#define TY_ATTENTION_KERNELS                                                             \
  void heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& out) override; \
  void heads_into(const Tensor& in, int64_t offset, int64_t heads, Tensor& x) override;  \
  void masked_softmax_forward(const Tensor& s, float scale, bool causal, const Tensor* key_len, int64_t heads,    \
                              Tensor& p) override;                                                              \
  void masked_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) override;              \
  void gathered_attention(const Tensor& q, const Tensor& table, int64_t k_offset, int64_t v_offset,               \
                          const Tensor& index, const Tensor& len, int64_t heads, float scale, Tensor& y) override;

}  // namespace ty
