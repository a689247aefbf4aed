#include "runtime/optim/clip.h"

#include <cmath>

namespace ty {

Tensor grad_sum_squares(Context& ctx, const std::vector<Var>& params) {
  Tensor sq = ctx.zeros({1}, DType::kF64);
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ctx.kernels(g.dtype()).optimizer().add_sum_squares(g, sq);
  }
  return sq;
}

double clip_grad_norm(Context& ctx, const std::vector<Var>& params, double max_norm) {
  Tensor sq = grad_sum_squares(ctx, params);
  if (max_norm > 0)
    for (const Var& p : params) {
      Tensor g = p.grad();
      if (g.defined()) ctx.kernels(g.dtype()).optimizer().clip_by_norm(g, sq, max_norm);
    }
  return std::sqrt(sq.item());
}

}  // namespace ty
