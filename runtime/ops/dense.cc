// linear, matmul, conv2d, pooling.
#include <algorithm>

#include "runtime/ops/ops.h"

namespace ty::ops {
namespace {

// db (F) = sum of dy (N, F) over N.
Tensor column_sums(Context& ctx, const Tensor& dy, int64_t f) {
  Tensor db = Tensor::empty(dy.allocator(), {f}, dy.dtype(), dy.device());
  ctx.kernels(dy.dtype()).pointwise().column_sums(dy, db);
  return db;
}

}  // namespace

Var linear(Context& ctx, const Var& x, const Var& w, const Var& b) {
  CHECK_EQ(x.value().ndim(), 2) << "linear input " << shape_str(x.shape());
  CHECK_EQ(x.shape()[1], w.shape()[1]) << "linear: input " << shape_str(x.shape()) << " vs weight "
                                       << shape_str(w.shape());
  const int64_t n = x.shape()[0], out = w.shape()[0];
  Kernels& k = ctx.kernels(x.dtype());
  Tensor y = ctx.empty({n, out}, x.dtype());
  Tensor bias = b.defined() ? b.value() : Tensor();
  k.dense().gemm(false, true, x.value(), w.value(), y, 0.f, b.defined() ? &bias : nullptr);
  return record_op(ctx, {x, w, b.defined() ? b : w}, Var(y), [&ctx, x, w, b](const Tensor& dy) {
    Kernels& k = ctx.kernels(dy.dtype());
    if (x.requires_grad()) {
      Tensor dx = x.value().empty_like();
      k.dense().gemm(false, false, dy, w.value(), dx, 0.f);
      x.accumulate_grad(ctx, dx);
    }
    if (w.requires_grad()) {
      Tensor dw = w.value().empty_like();
      k.dense().gemm(true, false, dy, x.value(), dw, 0.f);
      w.accumulate_grad(ctx, dw);
    }
    if (b.defined() && b.requires_grad()) b.accumulate_grad(ctx, column_sums(ctx, dy, dy.dim(1)));
  });
}

Var matmul(Context& ctx, const Var& a, const Var& b) {
  CHECK(a.value().ndim() == 2 && b.value().ndim() == 2 && a.shape()[1] == b.shape()[0])
      << "matmul " << shape_str(a.shape()) << " x " << shape_str(b.shape());
  Tensor c = ctx.empty({a.shape()[0], b.shape()[1]}, a.dtype());
  ctx.kernels(a.dtype()).dense().gemm(false, false, a.value(), b.value(), c, 0.f);
  return record_op(ctx, {a, b}, Var(c), [&ctx, a, b](const Tensor& dc) {
    Kernels& k = ctx.kernels(dc.dtype());
    if (a.requires_grad()) {
      Tensor da = a.value().empty_like();
      k.dense().gemm(false, true, dc, b.value(), da, 0.f);
      a.accumulate_grad(ctx, da);
    }
    if (b.requires_grad()) {
      Tensor db = b.value().empty_like();
      k.dense().gemm(true, false, a.value(), dc, db, 0.f);
      b.accumulate_grad(ctx, db);
    }
  });
}

namespace {
// Blocked output when the convolution backend handles it and the shape fits.
Layout output_layout(Kernels& k, const Shape& shape) {
  return k.handles(KernelFamily::kConv, Layout::kBlocked16) && Tensor::layout_fits(shape, Layout::kBlocked16)
             ? Layout::kBlocked16
             : Layout::kPlain;
}
}  // namespace

Var conv2d(Context& ctx, const Var& x_in, const Var& w, const Var& b, Conv2dParams p) {
  Kernels& kb = ctx.kernels(x_in.dtype());
  const Var x = for_family(ctx, KernelFamily::kConv, x_in);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  CHECK(xs.size() == 4 && ws.size() == 4 && xs[1] == ws[1])
      << "conv2d input " << shape_str(xs) << " vs weight " << shape_str(ws);
  ConvGeom g{xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], 0, 0, p.stride, p.stride, p.padding, p.padding};
  g.p = (g.h + 2 * g.pad_h - g.r) / g.stride_h + 1;
  g.q = (g.w + 2 * g.pad_w - g.s) / g.stride_w + 1;
  CHECK(g.p > 0 && g.q > 0) << "conv2d kernel larger than padded input " << shape_str(xs);
  const Shape ys{g.n, g.k, g.p, g.q};
  Tensor y = ctx.empty(ys, x.dtype()).with_layout(output_layout(kb, ys));
  Tensor bias = b.defined() ? b.value() : Tensor();
  kb.conv().conv2d_forward(g, x.value(), w.value(), b.defined() ? &bias : nullptr, y);
  return record_op(ctx, {x, w, b.defined() ? b : w}, Var(y), [&ctx, x, w, b, g](const Tensor& dy) {
    Kernels& k = ctx.kernels(dy.dtype());
    if (x.requires_grad()) {
      Tensor dx = x.value().empty_like();
      k.conv().conv2d_backward_data(g, dy, w.value(), dx);
      x.accumulate_grad(ctx, dx);
    }
    bool want_b = b.defined() && b.requires_grad();
    if (w.requires_grad() || want_b) {
      Tensor dw = w.value().empty_like();
      Tensor db = want_b ? b.value().empty_like() : Tensor();
      k.conv().conv2d_backward_weights(g, x.value(), dy, dw, want_b ? &db : nullptr);
      if (w.requires_grad()) w.accumulate_grad(ctx, dw);
      if (want_b) b.accumulate_grad(ctx, db);
    }
  });
}

Var conv_transpose2d(Context& ctx, const Var& x_in, const Var& w, const Var& b, ConvTranspose2dParams p) {
  Kernels& kb = ctx.kernels(x_in.dtype());
  const Var x = for_family(ctx, KernelFamily::kConv, x_in);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  CHECK(xs.size() == 4 && ws.size() == 4 && xs[1] == ws[0])
      << "conv_transpose2d input " << shape_str(xs) << " vs weight " << shape_str(ws);
  CHECK(p.output_padding >= 0 && p.output_padding < std::max<int64_t>(p.stride, 1))
      << "conv_transpose2d output_padding " << p.output_padding << " must be below the stride " << p.stride;
  // The convolution whose input gradient this is: its input is our output (K channels,
  // P x Q), its output our input (C channels, H x W), its weight (C, K, R, S) ours.
  const int64_t out_h = (xs[2] - 1) * p.stride - 2 * p.padding + ws[2] + p.output_padding;
  const int64_t out_w = (xs[3] - 1) * p.stride - 2 * p.padding + ws[3] + p.output_padding;
  CHECK(out_h > 0 && out_w > 0) << "conv_transpose2d padding " << p.padding << " too large for input "
                                << shape_str(xs);
  ConvGeom g{xs[0], ws[1], out_h, out_w, ws[0], ws[2], ws[3], xs[2], xs[3], p.stride, p.stride, p.padding, p.padding};
  const Shape ys{g.n, g.c, g.h, g.w};
  Tensor y = ctx.empty(ys, x.dtype()).with_layout(output_layout(kb, ys));
  kb.conv().conv2d_backward_data(g, x.value(), w.value(), y);
  Var out = record_op(ctx, {x, w}, Var(y), [&ctx, x, w, g](const Tensor& dy) {
    Kernels& k = ctx.kernels(dy.dtype());
    if (x.requires_grad()) {
      Tensor dx = x.value().empty_like();
      k.conv().conv2d_forward(g, dy, w.value(), nullptr, dx);
      x.accumulate_grad(ctx, dx);
    }
    if (w.requires_grad()) {
      Tensor dw = w.value().empty_like();
      k.conv().conv2d_backward_weights(g, dy, x.value(), dw, nullptr);
      w.accumulate_grad(ctx, dw);
    }
  });
  return b.defined() ? add_channel_bias(ctx, out, b) : out;
}

namespace {
Var pool2d(Context& ctx, const Var& x_in, Pool2dParams p, bool max) {
  Kernels& kb = ctx.kernels(x_in.dtype());
  const Var x = for_family(ctx, KernelFamily::kConv, x_in);
  const Shape& xs = x.shape();
  CHECK_EQ(xs.size(), 4u) << "pool2d input " << shape_str(xs);
  int64_t stride = p.stride > 0 ? p.stride : p.kernel;
  PoolGeom g{xs[0], xs[1], xs[2], xs[3], 0, 0, p.kernel, p.kernel, stride, stride, p.padding, p.padding, max};
  g.p = (g.h + 2 * g.pad_h - g.kh) / g.stride_h + 1;
  g.q = (g.w + 2 * g.pad_w - g.kw) / g.stride_w + 1;
  CHECK(g.p > 0 && g.q > 0) << "pool2d window larger than padded input " << shape_str(xs);
  Tensor y = ctx.empty({g.n, g.c, g.p, g.q}, x.dtype()).with_layout(x.value().layout());
  Tensor ws;
  kb.conv().pool2d_forward(g, x.value(), y, &ws);
  return record_op(ctx, {x}, Var(y), [&ctx, x, g, ws](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    ctx.kernels(dy.dtype()).conv().pool2d_backward(g, dy, ws, dx);
    x.accumulate_grad(ctx, dx);
  });
}
}  // namespace

Var max_pool2d(Context& ctx, const Var& x, Pool2dParams p) { return pool2d(ctx, x, p, true); }
Var avg_pool2d(Context& ctx, const Var& x, Pool2dParams p) { return pool2d(ctx, x, p, false); }

}  // namespace ty::ops
