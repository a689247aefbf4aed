// Normalization kernels (a kernel family, optional for a backend): batch norm (in any layout
// the backend takes for this family) and layer norm (plain).
#pragma once

#include "runtime/tensor.h"

namespace ty {

class NormKernels {
 public:
  virtual ~NormKernels() = default;
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
};

#define TY_NORM_KERNELS                                                                                                \
  void batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,           \
                         Tensor& mean, Tensor& var, Tensor& y) override;                                               \
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,                  \
                          const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta)      \
      override;                                                                                                        \
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean, \
                         Tensor& var) override;                                                                        \
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,                  \
                          const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

}  // namespace ty
