// The kernel table a device backend implements: the compute-heavy primitives that ops are
// built from. Ops (runtime/ops) own shapes, autograd and cheap elementwise work; a backend
// owns how the heavy work runs. All tensors are dense row-major (NCHW for images).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/backend/eltwise_kind.h"
#include "runtime/optim/update_math.h"
#include "runtime/tensor.h"

namespace ty {

// Convolution geometry. x: (N, C, H, W), w: (K, C, R, S), y: (N, K, P, Q). Activations
// (x, y and their gradients) may be in either layout the backend handles; a gradient is
// always in its value's layout. Weights are plain.
struct ConvGeom {
  int64_t n, c, h, w, k, r, s, p, q;
  int64_t stride_h, stride_w, pad_h, pad_w;
};

// Pooling geometry. x: (N, C, H, W) -> y: (N, C, P, Q).
struct PoolGeom {
  int64_t n, c, h, w, p, q;
  int64_t kh, kw, stride_h, stride_w, pad_h, pad_w;
  bool max;  // else average, padding excluded from the count
};

// The kernel table's entries as a backend declares its implementations — written once, here,
// and used in each backend's class (TY_DENSE_KERNELS: layouts, products, convolution,
// pooling, activations, softmax, norms; TY_VECTOR_KERNELS: elementwise, reductions, losses,
// optimizer updates), so that a new kernel is declared in one place besides the base.
#define TY_DENSE_KERNELS                                                                                               \
  void convert_layout(const Tensor& src, Tensor& dst) override;                                                        \
  void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,                       \
            const Tensor* bias = nullptr) override;                                                                    \
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;    \
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) override;                \
  void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db) override; \
  void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) override;                      \
  void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) override;             \
  void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) override;                                \
  void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) override;            \
  void softmax_forward(bool log, const Tensor& x, Tensor& y) override;                                                 \
  void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) override;                             \
  void batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,           \
                         Tensor& mean, Tensor& var, Tensor& y) override;                                               \
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,                  \
                          const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta)      \
      override;                                                                                                        \
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean, \
                         Tensor& var) override;                                                                        \
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,                  \
                          const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

#define TY_VECTOR_KERNELS                                                                                         \
  void add(const Tensor& a, const Tensor& b, Tensor& y) override;                                                 \
  void mul(const Tensor& a, const Tensor& b, Tensor& y) override;                                                 \
  void accumulate(Tensor& y, const Tensor& x) override;                                                           \
  void axpby(float a, const Tensor& x, float b, Tensor& y) override;                                              \
  void sum(const Tensor& x, double scale, Tensor& y) override;                                                    \
  void broadcast_scalar(const Tensor& s, double scale, Tensor& y) override;                                       \
  void column_sums(const Tensor& x, Tensor& y) override;                                                          \
  void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) override;                                 \
  void channel_sums(const Tensor& x, Tensor& sums) override;                                                      \
  void add_sum_squares(const Tensor& x, Tensor& acc) override;                                                    \
  void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) override;                                       \
  void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask, Tensor& y) \
      override;                                                                                                   \
  void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) override;   \
  void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,     \
                              Tensor& dx) override;                                                               \
  void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) override;                              \
  void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) override;          \
  void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) override;                            \
  void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) override;        \
  void one_hot(const Tensor& labels, Tensor& y) override;                                                         \
  void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) override;                            \
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) override;

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;
  virtual std::string name() const = 0;
  // Whether this backend runs kernels for tensors of `dtype` on `device`.
  virtual bool enabled(DType dtype, Device device) const = 0;
  // Whether convolution, pooling and batch norm take and give tensors of `layout`
  // (elementwise kernels take any layout; gemm, softmax and layer norm plain only).
  virtual bool handles(Layout layout) const = 0;
  // dst = src, element by element, converting between their layouts (same shape, dtype).
  virtual void convert_layout(const Tensor& src, Tensor& dst) = 0;

  // c (M, N) = op(a) * op(b) + beta * c (+ bias (N) on every row, optional), where op(a) is
  // (M, K) and op(b) is (K, N); a is stored (K, M) when trans_a, b is stored (N, K) when
  // trans_b.
  virtual void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,
                    const Tensor* bias = nullptr) = 0;

  virtual void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) = 0;
  virtual void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) = 0;
  // dw (K, C, R, S) and db (K) (optional, may be null) are overwritten.
  virtual void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                                       Tensor* db) = 0;

  // `workspace` is whatever the backend needs to route max-pool gradients; it is allocated
  // by the backend in forward and handed back in backward.
  virtual void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) = 0;
  virtual void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) = 0;

  // y = f(x); dx = f'(x) * dy. `alpha` is the LeakyReLU slope.
  virtual void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) = 0;
  virtual void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) = 0;

  // Over the last axis of x viewed as (rows, cols); `log` selects log-softmax.
  virtual void softmax_forward(bool log, const Tensor& x, Tensor& y) = 0;
  virtual void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) = 0;

  // Batch norm over x viewed as (N, C, S); mean/var: (C), biased variance. Training: the
  // batch statistics are written to mean/var; otherwise mean/var are read (running stats).
  virtual void batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,
                                 Tensor& mean, Tensor& var, Tensor& y) = 0;
  virtual void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                  const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma,
                                  Tensor& dbeta) = 0;

  // Layer norm over the last axis of x viewed as (rows, cols). mean/var: (rows).
  virtual void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y,
                                 Tensor& mean, Tensor& var) = 0;
  virtual void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                  const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) = 0;

  // ---- Vector work: elementwise over memory (any layout, the same in and out), reductions,
  // losses and optimizer updates. Host backends share one implementation (HostKernels).
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
  // Per channel of x (N, C, ...) in any layout this backend handles: y = x + bias[c]
  // (bias (C)); sums (C) = the sums of x over all but the channel axis.
  virtual void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) = 0;
  virtual void channel_sums(const Tensor& x, Tensor& sums) = 0;
  // acc (1, f64) += sum of squares of x (for the global gradient norm).
  virtual void add_sum_squares(const Tensor& x, Tensor& acc) = 0;
  // x *= min(1, max_norm / (sqrt(sq[0]) + 1e-6)); sq (1, f64) is a sum of squares.
  virtual void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) = 0;
  // mask[i] = 1/(1-p) or 0 from Philox(seed, stream) number first + i (first a multiple of
  // 4; the same numbers on every backend), y = x * mask.
  virtual void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
                       Tensor& y) = 0;

  // Losses (means over the batch) from plain (N, C) inputs; labels i32 (N) in [0, C) on the
  // same device (checked where they come from); targets like the predictions. loss: (1).
  // The backward writes dx = d(loss)/dx * dloss[0].
  virtual void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) = 0;
  virtual void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                                      Tensor& dx) = 0;
  virtual void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) = 0;
  virtual void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) = 0;
  virtual void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) = 0;
  virtual void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) = 0;
  // y (N, C) = one-hot rows of labels (N).
  virtual void one_hot(const Tensor& labels, Tensor& y) = 0;

  // Fused optimizer updates in place (update_math.h); buf may be null without momentum.
  virtual void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) = 0;
  virtual void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) = 0;
};

}  // namespace ty
