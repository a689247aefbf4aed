#include "runtime/optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace ty {

float LrSchedule::lr(int64_t step) const {
  if (step < o_.warmup_steps) return base_ * float(step + 1) / float(o_.warmup_steps);
  const int64_t s = step - o_.warmup_steps;
  if (o_.kind == LrShape::kStep) return base_ * std::pow(o_.gamma, float(s / std::max<int64_t>(o_.step_size, 1)));
  if (o_.kind == LrShape::kCosine) {
    const int64_t span = std::max<int64_t>(total_ - o_.warmup_steps, 1);
    const double t = std::min<double>(double(s) / span, 1.0);
    return o_.min_lr + (base_ - o_.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (o_.kind == LrShape::kInverseSqrt)
    return base_ * std::sqrt(float(std::max<int64_t>(o_.warmup_steps, 1)) / float(step + 1));
  return base_;
}

}  // namespace ty
