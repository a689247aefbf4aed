// One LSTM layer, forward and backward over a sequence, on one thread: trainyard's op
// (ops::lstm: one gemm for the inputs' projection, a gemm and the gate kernel per step, the
// weights' gradients one gemm each over all steps) against oneDNN's own LSTM primitive
// (lstm_forward / lstm_backward, training) on the same shapes, in the same process. Best of
// --reps each; prints the ratio. Decides which the CPU backend uses (the issue asked: keep
// the faster); Debian's oneDNN 2.6 runs its "ref" RNN implementation on AVX2 machines.
//
//   build/bench/lstm_cell_vs_onednn [T=128] [N=32] [C=256] [H=256] [reps=5]
#include <dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "runtime/ops/ops.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  const long t = argc > 1 ? std::atol(argv[1]) : 128, n = argc > 2 ? std::atol(argv[2]) : 32,
             c = argc > 3 ? std::atol(argv[3]) : 256, h = argc > 4 ? std::atol(argv[4]) : 256;
  const int reps = argc > 5 ? std::atoi(argv[5]) : 5;
  ty::ContextOptions o;
  o.threads = 1;
  ty::Context ctx(o);
  // trainyard: ops::lstm with a backward from a ones gradient.
  auto filled = [&](ty::Shape s, double v) {
    ty::Tensor x = ctx.empty(std::move(s));
    x.fill(v);
    return x;
  };
  ty::Var x(filled({n, t, c}, 0.1), true), w_ih(filled({4 * h, c}, 0.01), true), w_hh(filled({4 * h, h}, 0.01), true),
      b_ih(filled({4 * h}, 0.0), true), b_hh(filled({4 * h}, 0.0), true);
  const ty::Tensor dy = filled({n, t, h}, 1.0);
  double ty_fwd = 1e9, ty_all = 1e9;
  for (int r = 0; r < reps; ++r) {
    ty::Tape tape;
    double t0 = now();
    ty::Var y;
    {
      ty::TapeScope rec(ctx, &tape);
      y = ty::ops::lstm(ctx, x, w_ih, w_hh, b_ih, b_hh);
    }
    const double t1 = now();
    tape.backward({y}, {dy});
    const double t2 = now();
    ty_fwd = std::min(ty_fwd, t1 - t0);
    ty_all = std::min(ty_all, t2 - t0);
    for (ty::Var* v : {&x, &w_ih, &w_hh, &b_ih, &b_hh}) v->zero_grad();
  }
  // oneDNN's primitive, time-major as it takes sequences.
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc src({t, n, c}, dt::f32, tag::tnc), dst({t, n, h}, dt::f32, tag::tnc);
  memory::desc wl({1, 1, c, 4, h}, dt::f32, tag::any), wi({1, 1, h, 4, h}, dt::f32, tag::any);
  memory::desc bias({1, 1, 4, h}, dt::f32, tag::ldgo);
  lstm_forward::primitive_desc fpd(
      lstm_forward::desc(prop_kind::forward_training, rnn_direction::unidirectional_left2right, src, {}, {}, wl, wi,
                         bias, dst, {}, {}),
      eng);
  lstm_backward::primitive_desc bpd(
      lstm_backward::desc(prop_kind::backward, rnn_direction::unidirectional_left2right, src, {}, {}, wl, wi, bias, dst,
                          {}, {}, src, {}, {}, wl, wi, bias, dst, {}, {}),
      eng, fpd);
  memory xm(src, eng), ym(dst, eng), wlm(fpd.weights_layer_desc(), eng), wim(fpd.weights_iter_desc(), eng),
      bm(bias, eng), ws(fpd.workspace_desc(), eng), dxm(src, eng), dym(dst, eng),
      dwl(bpd.diff_weights_layer_desc(), eng), dwi(bpd.diff_weights_iter_desc(), eng), db(bias, eng);
  for (memory* m : {&xm, &dym})
    std::fill_n(static_cast<float*>(m->get_data_handle()), m->get_desc().get_size() / 4, 0.1f);
  lstm_forward fwd(fpd);
  lstm_backward bwd(bpd);
  double dn_fwd = 1e9, dn_all = 1e9;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now();
    fwd.execute(s, {{DNNL_ARG_SRC_LAYER, xm},
                    {DNNL_ARG_WEIGHTS_LAYER, wlm},
                    {DNNL_ARG_WEIGHTS_ITER, wim},
                    {DNNL_ARG_BIAS, bm},
                    {DNNL_ARG_DST_LAYER, ym},
                    {DNNL_ARG_WORKSPACE, ws}});
    s.wait();
    const double t1 = now();
    bwd.execute(s, {{DNNL_ARG_SRC_LAYER, xm},
                    {DNNL_ARG_WEIGHTS_LAYER, wlm},
                    {DNNL_ARG_WEIGHTS_ITER, wim},
                    {DNNL_ARG_BIAS, bm},
                    {DNNL_ARG_DST_LAYER, ym},
                    {DNNL_ARG_WORKSPACE, ws},
                    {DNNL_ARG_DIFF_SRC_LAYER, dxm},
                    {DNNL_ARG_DIFF_DST_LAYER, dym},
                    {DNNL_ARG_DIFF_WEIGHTS_LAYER, dwl},
                    {DNNL_ARG_DIFF_WEIGHTS_ITER, dwi},
                    {DNNL_ARG_DIFF_BIAS, db}});
    s.wait();
    const double t2 = now();
    dn_fwd = std::min(dn_fwd, t1 - t0);
    dn_all = std::min(dn_all, t2 - t0);
  }
  const double gflop = 2.0 * 3 * 2 * t * n * 4 * h * (c + h) / 2 / 1e9;  // forward: 2 products; backward: 4
  std::printf("LSTM layer T=%ld N=%ld C=%ld H=%ld, 1 thread, best of %d (oneDNN implementation: %s):\n", t, n, c, h,
              reps, fpd.impl_info_str());
  std::printf("  forward:            trainyard %.2f ms, oneDNN primitive %.2f ms, ratio %.3f\n", ty_fwd * 1e3,
              dn_fwd * 1e3, ty_fwd / dn_fwd);
  std::printf("  forward + backward: trainyard %.2f ms, oneDNN primitive %.2f ms, ratio %.3f (%.2f GFLOP)\n",
              ty_all * 1e3, dn_all * 1e3, ty_all / dn_all, gflop);
  return 0;
}
