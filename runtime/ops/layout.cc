// Layout conversion as an autograd op.
#include "runtime/ops/ops.h"

namespace ty::ops {

Var to_layout(Context& ctx, const Var& x, Layout layout) {
  if (x.value().layout() == layout) return x;
  Tensor y = x.value().with_layout(layout).empty_like();
  ctx.kernels(x.dtype()).dense().convert_layout(x.value(), y);
  return record_op(ctx, {x}, Var(y), [&ctx, x](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    ctx.kernels(dy.dtype()).dense().convert_layout(dy, dx);
    x.accumulate_grad(ctx, dx);
  });
}

}  // namespace ty::ops
