// Dynamic loss scaling for fp16 mixed precision: backward starts from `scale()` instead of
// 1, so that small gradients survive the rounding to f16 in the matrix products. After
// backward, unscale_or_skip() checks every gradient for Inf/NaN in one pass (a sum of
// squares on the device, read once): if any, the step is skipped and the scale halved;
// otherwise the gradients are divided by the scale and, after `growth_interval` such steps
// in a row, the scale doubles.
#pragma once

#include <vector>

#include "runtime/autograd.h"

namespace ty {

class LossScaler {
 public:
  explicit LossScaler(double initial = 65536.0, int64_t growth_interval = 2000)
      : scale_(initial), growth_interval_(growth_interval) {}

  double scale() const { return scale_; }
  // True: the gradients are finite and unscaled, take the optimizer step. False: skip it.
  // With `max_norm` > 0 they are also clipped to that global norm (train.clip_grad_norm),
  // in the same pass: one sum of squares, one read, one scaling.
  bool unscale_or_skip(Context& ctx, const std::vector<Var>& params, double max_norm = 0);
  int64_t skipped() const { return skipped_; }

  // For checkpoints: the scale and the finite steps since it last changed.
  int64_t good_steps() const { return good_; }
  void restore(double scale, int64_t good_steps) {
    scale_ = scale;
    good_ = good_steps;
  }

 private:
  double scale_;
  int64_t growth_interval_;
  int64_t good_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace ty
