#include "runtime/optim/loss_scaler.h"

#include <cmath>

namespace ty {

bool LossScaler::unscale_or_skip(Context& ctx, const std::vector<Var>& params) {
  Tensor sq = ctx.zeros({1}, DType::kF64);
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ctx.kernels(g.dtype()).add_sum_squares(g, sq);
  }
  if (!std::isfinite(sq.item())) {
    scale_ = std::max(scale_ / 2, 1.0);
    good_ = 0;
    ++skipped_;
    return false;
  }
  const float inverse = static_cast<float>(1.0 / scale_);
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ctx.kernels(g.dtype()).axpby(0.f, g, inverse, g);
  }
  if (++good_ >= growth_interval_) {
    scale_ *= 2;
    good_ = 0;
  }
  return true;
}

}  // namespace ty
