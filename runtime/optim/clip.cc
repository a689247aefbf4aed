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
  if (max_norm > 0) clip_to_norm(ctx, params, sq, max_norm);
  return std::sqrt(sq.item());
}

void clip_to_norm(Context& ctx, const std::vector<Var>& params, const Tensor& sum_squares, double max_norm) {
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (g.defined()) ctx.kernels(g.dtype()).optimizer().clip_by_norm(g, sum_squares, max_norm);
  }
}

}  // namespace ty
