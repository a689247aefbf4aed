// Token embedding: a gather of table rows, and its scatter-add backward.
#include "runtime/ops/ops.h"

namespace ty::ops {

Var embedding(Context& ctx, const Tensor& ids, const Var& table) {
  CHECK(ids.dtype() == DType::kI32) << "embedding ids must be i32, got " << dtype_name(ids.dtype());
  CHECK(table.shape().size() == 2) << "embedding table must be (V, D), got " << shape_str(table.shape());
  CHECK(ids.device() == table.value().device())
      << "embedding ids on " << ids.device().str() << ", table on " << table.value().device().str();
  Shape shape = ids.shape();
  shape.push_back(table.shape()[1]);
  Tensor y = ctx.empty(shape, table.dtype());
  ctx.kernels(table.dtype()).embedding().gather_rows(table.value(), ids, y);
  return record_op(ctx, {table}, Var(y), [&ctx, ids, table](const Tensor& dy) {
    Tensor dtable = ctx.zeros(table.shape(), table.dtype());
    ctx.kernels(dy.dtype()).embedding().scatter_add_rows(dy, ids, dtable);
    table.accumulate_grad(ctx, dtable);
  });
}

}  // namespace ty::ops
