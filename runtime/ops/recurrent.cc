// LSTM and GRU layers over whole sequences: one tape node per layer. The inputs' projection
// is one gemm over every step, each step one gemm with the previous state and the
// recurrent family's gate kernel; the backward runs the steps in reverse and takes the
// weights' gradients as one gemm each over every step. Sequences run time-major inside
// (each step's slab contiguous).
#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty::ops {
namespace {

Var recurrent(Context& ctx, bool lstm, const Var& x_in, const Var& w_ih, const Var& w_hh, const Var& b_ih,
              const Var& b_hh) {
  const char* cell = lstm ? "lstm" : "gru";
  const int64_t gates = lstm ? 4 : 3;
  CHECK_EQ(x_in.shape().size(), 3u) << cell << " input must be (N, L, E), got " << shape_str(x_in.shape());
  const int64_t n = x_in.shape()[0], len = x_in.shape()[1], e = x_in.shape()[2];
  const int64_t hs = w_hh.shape()[1], gh = gates * hs;
  CHECK(w_ih.shape() == (Shape{gh, e}) && w_hh.shape() == (Shape{gh, hs}) && b_ih.shape() == Shape{gh} &&
        b_hh.shape() == Shape{gh})
      << cell << " weights " << shape_str(w_ih.shape()) << ", " << shape_str(w_hh.shape()) << " for input "
      << shape_str(x_in.shape());
  const Var x = plain(ctx, x_in);
  const DType dt = x.dtype();
  Kernels& k = ctx.kernels(dt);
  RecurrentKernels& rec = k.recurrent();
  Tensor xt = ctx.empty({len * n, e}, dt);  // time-major inputs
  {
    Tensor xt3 = xt.reshape({len, n, e});
    rec.swap_axes01(x.value(), xt3);
  }
  Tensor xw = ctx.empty({len * n, gh}, dt);
  k.dense().gemm(false, true, xt, w_ih.value(), xw, 0.f, &b_ih.value());
  Tensor hs_all = ctx.zeros({(len + 1) * n, hs}, dt);  // h_0 = 0, then each step's
  Tensor cs_all = lstm ? ctx.zeros({(len + 1) * n, hs}, dt) : Tensor();
  Tensor act = ctx.empty({len * n, 4 * hs}, dt);
  Tensor hw = ctx.empty({n, gh}, dt);
  for (int64_t t = 0; t < len; ++t) {
    const Tensor h_prev = hs_all.rows(t * n, n), xw_t = xw.rows(t * n, n);
    Tensor h = hs_all.rows((t + 1) * n, n), a = act.rows(t * n, n);
    k.dense().gemm(false, true, h_prev, w_hh.value(), hw, 0.f, &b_hh.value());
    if (lstm) {
      Tensor c = cs_all.rows((t + 1) * n, n);
      rec.lstm_step_forward(xw_t, hw, cs_all.rows(t * n, n), a, c, h);
    } else {
      rec.gru_step_forward(xw_t, hw, h_prev, a, h);
    }
  }
  Tensor y = ctx.empty({n, len, hs}, dt);
  rec.swap_axes01(hs_all.rows(n, len * n).reshape({len, n, hs}), y);
  return record_op(
      ctx, {x, w_ih, w_hh, b_ih, b_hh}, Var(y),
      [&ctx, lstm, x, w_ih, w_hh, b_ih, b_hh, xt, hs_all, cs_all, act, n, len, e, hs, gh](const Tensor& dy_in) {
        const DType dt = dy_in.dtype();
        Kernels& k = ctx.kernels(dt);
        RecurrentKernels& rec = k.recurrent();
        Tensor dy = ctx.empty({len, n, hs}, dt);
        rec.swap_axes01(dy_in, dy);  // (the output is plain, so is its gradient)
        dy = dy.reshape({len * n, hs});
        Tensor dgx = ctx.empty({len * n, gh}, dt);
        Tensor dgh = lstm ? dgx : ctx.empty({len * n, gh}, dt);
        Tensor dh = ctx.empty({n, hs}, dt);
        Tensor dc = lstm ? ctx.zeros({n, hs}, dt) : Tensor();
        Tensor dh_direct = lstm ? Tensor() : ctx.empty({n, hs}, dt);
        for (int64_t t = len - 1; t >= 0; --t) {
          dh.copy_from(dy.rows(t * n, n));
          if (t + 1 < len) {
            k.dense().gemm(false, false, dgh.rows((t + 1) * n, n), w_hh.value(), dh, 1.f);
            if (!lstm) k.pointwise().accumulate(dh, dh_direct);
          }
          Tensor dgx_t = dgx.rows(t * n, n), a = act.rows(t * n, n);
          if (lstm) {
            rec.lstm_step_backward(a, cs_all.rows(t * n, n), cs_all.rows((t + 1) * n, n), dh, dc, dgx_t);
          } else {
            Tensor dgh_t = dgh.rows(t * n, n);
            rec.gru_step_backward(a, hs_all.rows(t * n, n), dh, dgx_t, dgh_t, dh_direct);
          }
        }
        const auto weight_grad = [&](const Var& w, const Tensor& dg, const Tensor& in) {
          if (!w.requires_grad()) return;
          Tensor dw = ctx.empty(w.shape(), dt);
          k.dense().gemm(true, false, dg, in, dw, 0.f);
          w.accumulate_grad(ctx, dw);
        };
        const auto bias_grad = [&](const Var& b, const Tensor& dg) {
          if (!b.requires_grad()) return;
          Tensor db = ctx.empty(b.shape(), dt);
          k.pointwise().column_sums(dg, db);
          b.accumulate_grad(ctx, db);
        };
        weight_grad(w_ih, dgx, xt);
        weight_grad(w_hh, dgh, hs_all.rows(0, len * n));
        bias_grad(b_ih, dgx);
        bias_grad(b_hh, dgh);
        if (x.requires_grad()) {
          Tensor dxt = ctx.empty({len * n, e}, dt);
          k.dense().gemm(false, false, dgx, w_ih.value(), dxt, 0.f);
          Tensor dx = ctx.empty({n, len, e}, dt);
          rec.swap_axes01(dxt.reshape({len, n, e}), dx);
          x.accumulate_grad(ctx, dx);
        }
      });
}

}  // namespace

Var lstm(Context& ctx, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh) {
  return recurrent(ctx, true, x, w_ih, w_hh, b_ih, b_hh);
}

Var gru(Context& ctx, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh) {
  return recurrent(ctx, false, x, w_ih, w_hh, b_ih, b_hh);
}

void recurrent_step(Context& ctx, bool lstm, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh, Tensor& h, Tensor& c) {
  const int64_t n = x.dim(0), gh = w_ih.dim(0), hs = w_hh.dim(1);
  CHECK(x.shape().size() == 2 && h.shape() == (Shape{n, hs}) && (!lstm || c.shape() == h.shape()))
      << "recurrent step: x " << shape_str(x.shape()) << ", state " << shape_str(h.shape());
  const DType dt = x.dtype();
  Kernels& k = ctx.kernels(dt);
  Tensor xw = ctx.empty({n, gh}, dt), hw = ctx.empty({n, gh}, dt);
  k.dense().gemm(false, true, x, w_ih, xw, 0.f, &b_ih);
  k.dense().gemm(false, true, h, w_hh, hw, 0.f, &b_hh);
  Tensor act = ctx.empty({n, 4 * hs}, dt), h_next = ctx.empty({n, hs}, dt);
  if (lstm) {
    Tensor c_next = ctx.empty({n, hs}, dt);
    k.recurrent().lstm_step_forward(xw, hw, c, act, c_next, h_next);
    c.copy_from(c_next);
  } else {
    k.recurrent().gru_step_forward(xw, hw, h, act, h_next);
  }
  h.copy_from(h_next);
}

}  // namespace ty::ops
