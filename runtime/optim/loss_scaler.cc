#include "runtime/optim/loss_scaler.h"

#include <cmath>

#include "runtime/optim/clip.h"

namespace ty {

bool LossScaler::unscale_or_skip(Context& ctx, const std::vector<Var>& params, double max_norm) {
  const double sq = grad_sum_squares(ctx, params).item();
  if (!std::isfinite(sq)) {
    scale_ = std::max(scale_ / 2, 1.0);
    good_ = 0;
    ++skipped_;
    return false;
  }
  // The clip of clip_grad_norm() on the unscaled norm, folded into the unscaling.
  const double norm = std::sqrt(sq) / scale_;
  const double clip = max_norm > 0 && norm > max_norm ? max_norm / (norm + 1e-6) : 1.0;
  const float inverse = static_cast<float>(clip / scale_);
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ctx.kernels(g.dtype()).pointwise().axpby(0.f, g, inverse, g);
  }
  if (++good_ >= growth_interval_) {
    scale_ *= 2;
    good_ = 0;
  }
  return true;
}

}  // namespace ty
