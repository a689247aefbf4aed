#include "models/layer.h"

#include "absl/strings/str_cat.h"
#include "runtime/context.h"
#include "runtime/philox.h"

namespace ty {

namespace {
// The layer whose default forward() is calling apply() on this thread: a layer that
// implements neither form would otherwise recurse until the stack ends.
thread_local const Layer* defaulted_forward = nullptr;
}  // namespace

Var Layer::forward(Context& ctx, const Var& x) {
  const Layer* outer = defaulted_forward;
  defaulted_forward = this;
  Vars ys = apply(ctx, {x});
  defaulted_forward = outer;
  CHECK_EQ(ys.size(), 1u) << describe() << " gives " << ys.size() << " tensors; call apply()";
  return ys[0];
}

Vars Layer::apply(Context& ctx, const Vars& xs) {
  CHECK(defaulted_forward != this) << describe() << " implements neither forward() nor apply()";
  CHECK_EQ(xs.size(), 1u) << describe() << " takes one tensor, got " << xs.size();
  return {forward(ctx, xs[0])};
}

Tensor InitRng::uniform(Context& ctx, Shape shape, double bound, DType dtype) {
  ++next_stream;
  if (ctx.shape_only()) return ctx.empty(std::move(shape), dtype);
  // Drawn on the host (the same numbers on every device), then moved to ctx's device.
  Tensor t = Tensor::empty(host_memory(), std::move(shape), dtype);
  Philox rng(seed, next_stream - 1);
  for (int64_t i = 0, n = t.numel(); i < n; ++i) t.set(i, (2.0 * rng.uniform(i) - 1.0) * bound);
  return ctx.to_device(t);
}

Tensor InitRng::normal(Context& ctx, Shape shape, double std, DType dtype) {
  ++next_stream;
  if (ctx.shape_only()) return ctx.empty(std::move(shape), dtype);
  Tensor t = Tensor::empty(host_memory(), std::move(shape), dtype);
  Philox rng(seed, next_stream - 1);
  for (int64_t i = 0, n = t.numel(); i < n; ++i) t.set(i, rng.normal(i) * std);
  return ctx.to_device(t);
}

}  // namespace ty
