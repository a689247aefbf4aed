// Loss kernels (a kernel family, optional for a backend): means over the batch from plain
// (N, C) inputs; labels i32 (N) in [0, C) on the same device (checked where they come
// from), or negative: that row left out of the cross-entropy (loss and gradient 0, still
// counted in N); targets like the predictions. loss: (1). Each backward writes
// dx = d(loss)/dx * dloss[0].
#pragma once

#include "runtime/tensor.h"

namespace ty {

class LossKernels {
 public:
  virtual ~LossKernels() = default;
  virtual void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) = 0;
  virtual void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                                      Tensor& dx) = 0;
  virtual void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) = 0;
  virtual void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) = 0;
  virtual void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) = 0;
  virtual void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) = 0;
};

#define TY_LOSS_KERNELS                                                                                         \
  void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) override; \
  void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,   \
                              Tensor& dx) override;                                                             \
  void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) override;                            \
  void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) override;        \
  void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) override;                          \
  void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) override;

}  // namespace ty
