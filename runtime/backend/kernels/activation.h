// Activation kernels (a kernel family, optional for a backend): elementwise activations
// (any layout, the same in and out) and softmax over the last axis (plain).
#pragma once

#include "runtime/backend/eltwise_kind.h"
#include "runtime/tensor.h"

namespace ty {

class ActivationKernels {
 public:
  virtual ~ActivationKernels() = default;
  // y = f(x); dx = f'(x) * dy. `alpha` is the LeakyReLU slope.
  virtual void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) = 0;
  virtual void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) = 0;
  // Over the last axis of x viewed as (rows, cols); `log` selects log-softmax.
  virtual void softmax_forward(bool log, const Tensor& x, Tensor& y) = 0;
  virtual void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) = 0;
};

#define TY_ACTIVATION_KERNELS                                                                               \
  void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) override;                     \
  void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) override; \
  void softmax_forward(bool log, const Tensor& x, Tensor& y) override;                                      \
  void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) override;

}  // namespace ty
