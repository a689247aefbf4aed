// Activations, softmax, dropout, reshape/flatten, add, concat, sum, mean.
#include "runtime/ops/ops.h"

#include <algorithm>

#include "runtime/philox.h"

namespace ty::ops {

Var activation(Context& ctx, const Var& x, Eltwise kind, float alpha) {
  Tensor y = x.value().empty_like();
  ctx.kernels(x.dtype()).activation().eltwise_forward(kind, alpha, x.value(), y);
  return record_op(ctx, {x}, Var(y), [&ctx, x, kind, alpha](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    ctx.kernels(dy.dtype()).activation().eltwise_backward(kind, alpha, x.value(), dy, dx);
    x.accumulate_grad(ctx, dx);
  });
}

namespace {
Var softmax_impl(Context& ctx, const Var& x_in, bool log) {
  const Var x = plain(ctx, x_in);
  Tensor y = x.value().empty_like();
  ctx.kernels(x.dtype()).activation().softmax_forward(log, x.value(), y);
  return record_op(ctx, {x}, Var(y), [&ctx, x, y, log](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    ctx.kernels(dy.dtype()).activation().softmax_backward(log, y, dy, dx);
    x.accumulate_grad(ctx, dx);
  });
}
}  // namespace

Var softmax(Context& ctx, const Var& x) { return softmax_impl(ctx, x, false); }
Var log_softmax(Context& ctx, const Var& x) { return softmax_impl(ctx, x, true); }

Var dropout(Context& ctx, const Var& x_in, float p, bool training, uint32_t layer) {
  CHECK(p >= 0.f && p < 1.f) << "dropout probability " << p;
  if (!training || p == 0.f) return x_in;
  // Numbers in the plain order, so every backend and layout draws the same mask for the
  // same element.
  const Var x = plain(ctx, x_in);
  const int64_t rows = x.value().shape().empty() ? 1 : x.value().shape()[0];
  const uint64_t per_row = static_cast<uint64_t>(x.value().numel() / std::max<int64_t>(rows, 1));
  const DropoutKey& key = ctx.dropout_key();
  const uint64_t first = key.first_sample * per_row;
  const uint64_t stream = dropout_stream(layer, key.step);
  // mask holds 0 or 1/(1-p); y = x * mask.
  Tensor mask = x.value().empty_like();
  Tensor y = x.value().empty_like();
  ctx.kernels(x.dtype()).pointwise().dropout(x.value(), p, ctx.seed(), stream, first, mask, y);
  return record_op(ctx, {x}, Var(y), [&ctx, x, mask](const Tensor& dy) {
    Tensor dx = dy.empty_like();
    ctx.kernels(dy.dtype()).pointwise().mul(dy, mask, dx);
    x.accumulate_grad(ctx, dx);
  });
}

Var reshape(Context& ctx, const Var& x_in, Shape shape) {
  const Var x = plain(ctx, x_in);
  Tensor y = x.value().reshape(std::move(shape));
  return record_op(ctx, {x}, Var(y), [&ctx, x](const Tensor& dy) { x.accumulate_grad(ctx, dy.reshape(x.shape())); });
}

Var flatten(Context& ctx, const Var& x) { return reshape(ctx, x, {x.shape()[0], -1}); }

Var add(Context& ctx, const Var& a, const Var& b_in) {
  CHECK(a.shape() == b_in.shape()) << "add " << shape_str(a.shape()) << " + " << shape_str(b_in.shape());
  const Var b = to_layout(ctx, b_in, a.value().layout());
  Tensor y = a.value().empty_like();
  ctx.kernels(a.dtype()).pointwise().add(a.value(), b.value(), y);
  return record_op(ctx, {a, b}, Var(y), [&ctx, a, b](const Tensor& dy) {
    // Each input gets its own buffer: gradients are accumulated in place later.
    if (a.requires_grad()) a.accumulate_grad(ctx, b.requires_grad() ? dy.clone() : dy);
    if (b.requires_grad()) b.accumulate_grad(ctx, dy);
  });
}

Var add_channel_bias(Context& ctx, const Var& x_in, const Var& b) {
  const int64_t c = x_in.value().ndim() > 1 ? x_in.shape()[1] : 0;
  CHECK(c > 0 && b.value().numel() == c) << "add_channel_bias " << shape_str(b.shape()) << " to "
                                         << shape_str(x_in.shape());
  Kernels& k = ctx.kernels(x_in.dtype());
  const Var x = for_family(ctx, KernelFamily::kPointwise, x_in);
  Tensor y = x.value().empty_like();
  k.pointwise().add_channel_bias(x.value(), b.value(), y);
  return record_op(ctx, {x, b}, Var(y), [&ctx, x, b](const Tensor& dy) {
    if (b.requires_grad()) {
      Tensor db = b.value().empty_like();
      ctx.kernels(dy.dtype()).pointwise().channel_sums(dy, db);
      b.accumulate_grad(ctx, db);
    }
    if (x.requires_grad()) x.accumulate_grad(ctx, dy);
  });
}

Var concat(Context& ctx, const std::vector<Var>& xs_in, int axis) {
  CHECK(!xs_in.empty()) << "concat of nothing";
  std::vector<Var> xs;
  for (const Var& v : xs_in) xs.push_back(plain(ctx, v));
  const Shape& s0 = xs[0].shape();
  if (axis < 0) axis += s0.size();
  CHECK(axis >= 0 && axis < static_cast<int>(s0.size())) << "concat axis " << axis;
  Shape out = s0;
  out[axis] = 0;
  for (const Var& v : xs) {
    for (size_t d = 0; d < s0.size(); ++d)
      CHECK(d == static_cast<size_t>(axis) || v.shape()[d] == s0[d])
          << "concat " << shape_str(v.shape()) << " with " << shape_str(s0) << " on axis " << axis;
    out[axis] += v.shape()[axis];
  }
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= s0[d];
  for (size_t d = axis + 1; d < s0.size(); ++d) inner *= s0[d];
  Tensor y = ctx.empty(out, xs[0].dtype());
  const size_t es = dtype_size(y.dtype());
  const int64_t total = out[axis] * inner;
  std::vector<int64_t> widths;
  int64_t off = 0;
  // Each input is `outer` rows of its width, placed at column `off` of y's rows.
  for (const Var& v : xs) {
    const int64_t wdt = v.shape()[axis] * inner;
    widths.push_back(wdt);
    y.allocator()->copy_2d(static_cast<char*>(y.raw()) + off * es, total * es, v.value().raw(), wdt * es, wdt * es,
                           outer);
    off += wdt;
  }
  return record_op(ctx, xs, Var(y), [&ctx, xs, widths, outer, total, es](const Tensor& dy) {
    int64_t off = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i].requires_grad()) {
        Tensor dx = xs[i].value().empty_like();
        dx.allocator()->copy_2d(dx.raw(), widths[i] * es, static_cast<char*>(dy.raw()) + off * es, total * es,
                                widths[i] * es, outer);
        xs[i].accumulate_grad(ctx, dx);
      }
      off += widths[i];
    }
  });
}

namespace {
Var reduce_all(Context& ctx, const Var& x, bool average) {
  Tensor y = ctx.empty({1}, x.dtype());
  const int64_t n = x.value().numel();
  const double scale = average ? 1.0 / std::max<int64_t>(n, 1) : 1.0;
  ctx.kernels(x.dtype()).pointwise().sum(x.value(), scale, y);
  return record_op(ctx, {x}, Var(y), [&ctx, x, scale](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    ctx.kernels(dy.dtype()).pointwise().broadcast_scalar(dy, scale, dx);
    x.accumulate_grad(ctx, dx);
  });
}
}  // namespace

Var sum(Context& ctx, const Var& x) { return reduce_all(ctx, x, false); }
Var mean(Context& ctx, const Var& x) { return reduce_all(ctx, x, true); }

}  // namespace ty::ops
