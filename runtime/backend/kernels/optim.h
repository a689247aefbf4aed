// Optimizer kernels (a kernel family, optional for a backend): fused parameter updates in
// place (the formulas in runtime/optim/update_math.h) and the gradient-norm clipping pair.
#pragma once

#include "runtime/optim/update_math.h"
#include "runtime/tensor.h"

namespace ty {

class OptimizerKernels {
 public:
  virtual ~OptimizerKernels() = default;
  // buf may be null without momentum.
  virtual void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) = 0;
  virtual void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) = 0;
  // acc (1, f64) += sum of squares of x (for the global gradient norm).
  virtual void add_sum_squares(const Tensor& x, Tensor& acc) = 0;
  // x *= min(1, max_norm / (sqrt(sq[0]) + 1e-6)); sq (1, f64) is a sum of squares.
  virtual void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) = 0;
};

#define TY_OPTIMIZER_KERNELS                                                                      \
  void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) override;            \
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) override; \
  void add_sum_squares(const Tensor& x, Tensor& acc) override;                                    \
  void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) override;

}  // namespace ty
