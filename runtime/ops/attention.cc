// Causal multi-head self-attention from packed projections: per head, scores = q kᵀ, the
// causal softmax (scaled by 1/√dh, later keys masked, one kernel), then the weighted sum of
// the values; batched products on the dense family, head moves and the softmax on the
// attention family. One tape node, keeping q, k, v and the weights for the backward.
#include <cmath>

#include "runtime/ops/ops.h"

namespace ty::ops {
namespace {

struct HeadShape {
  int64_t n, t, d, heads, dh;
};

HeadShape head_shape(const Shape& qkv, int64_t heads) {
  CHECK_EQ(qkv.size(), 3u) << "attention takes (N, T, 3D) projections, got " << shape_str(qkv);
  CHECK(qkv[2] % 3 == 0 && (qkv[2] / 3) % heads == 0)
      << "attention: width " << qkv[2] << " is not 3 × a multiple of " << heads << " heads";
  return {qkv[0], qkv[1], qkv[2] / 3, heads, qkv[2] / 3 / heads};
}

}  // namespace

Var causal_self_attention(Context& ctx, const Var& qkv_in, int64_t heads) {
  const Var qkv = plain(ctx, qkv_in);
  const HeadShape g = head_shape(qkv.shape(), heads);
  const DType dt = qkv.dtype();
  const int64_t b = g.n * heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(double(g.dh)));
  Kernels& k = ctx.kernels(dt);
  AttentionKernels& att = k.attention();
  Tensor q = ctx.empty({b, g.t, g.dh}, dt), kk = ctx.empty({b, g.t, g.dh}, dt), v = ctx.empty({b, g.t, g.dh}, dt);
  att.heads_from(qkv.value(), 0, heads, q);
  att.heads_from(qkv.value(), g.d, heads, kk);
  att.heads_from(qkv.value(), 2 * g.d, heads, v);
  Tensor s = ctx.empty({b, g.t, g.t}, dt), p = ctx.empty({b, g.t, g.t}, dt);
  k.dense().gemm_batched(false, true, q, kk, s, 0.f);
  att.causal_softmax_forward(s, scale, p);
  s = Tensor();  // (not kept)
  Tensor o = ctx.empty({b, g.t, g.dh}, dt);
  k.dense().gemm_batched(false, false, p, v, o, 0.f);
  Tensor y = ctx.empty({g.n, g.t, g.d}, dt);
  att.heads_into(o, 0, heads, y);
  return record_op(ctx, {qkv}, Var(y), [&ctx, qkv, q, kk, v, p, g, b, scale](const Tensor& dy) {
    const DType dt = dy.dtype();
    Kernels& k = ctx.kernels(dt);
    AttentionKernels& att = k.attention();
    Tensor d_o = ctx.empty({b, g.t, g.dh}, dt);
    att.heads_from(dy, 0, g.heads, d_o);
    Tensor dp = ctx.empty({b, g.t, g.t}, dt), dv = ctx.empty({b, g.t, g.dh}, dt);
    k.dense().gemm_batched(false, true, d_o, v, dp, 0.f);
    k.dense().gemm_batched(true, false, p, d_o, dv, 0.f);
    Tensor ds = ctx.empty({b, g.t, g.t}, dt);
    att.causal_softmax_backward(p, dp, scale, ds);
    Tensor dq = ctx.empty({b, g.t, g.dh}, dt), dk = ctx.empty({b, g.t, g.dh}, dt);
    k.dense().gemm_batched(false, false, ds, kk, dq, 0.f);
    k.dense().gemm_batched(true, false, ds, q, dk, 0.f);
    Tensor dqkv = ctx.empty(qkv.shape(), dt);
    att.heads_into(dq, 0, g.heads, dqkv);
    att.heads_into(dk, g.d, g.heads, dqkv);
    att.heads_into(dv, 2 * g.d, g.heads, dqkv);
    qkv.accumulate_grad(ctx, dqkv);
  });
}

Tensor cached_causal_self_attention(Context& ctx, const Tensor& qkv, int64_t heads, Tensor& cache, int64_t& len) {
  const HeadShape g = head_shape(qkv.shape(), heads);
  CHECK_EQ(g.n, 1) << "cached attention takes one sequence";
  CHECK_LE(len + g.t, cache.dim(0)) << "the attention cache holds " << cache.dim(0) << " positions";
  const DType dt = qkv.dtype();
  Tensor slots = cache.rows(len, g.t);
  slots.copy_from(qkv.reshape({g.t, 3 * g.d}));
  len += g.t;
  const Tensor all = cache.rows(0, len).reshape({1, len, 3 * g.d});
  Kernels& k = ctx.kernels(dt);
  AttentionKernels& att = k.attention();
  Tensor q = ctx.empty({heads, g.t, g.dh}, dt), kk = ctx.empty({heads, len, g.dh}, dt),
         v = ctx.empty({heads, len, g.dh}, dt);
  att.heads_from(qkv, 0, heads, q);
  att.heads_from(all, g.d, heads, kk);
  att.heads_from(all, 2 * g.d, heads, v);
  Tensor s = ctx.empty({heads, g.t, len}, dt), p = ctx.empty({heads, g.t, len}, dt);
  k.dense().gemm_batched(false, true, q, kk, s, 0.f);
  att.causal_softmax_forward(s, static_cast<float>(1.0 / std::sqrt(double(g.dh))), p);
  Tensor o = ctx.empty({heads, g.t, g.dh}, dt);
  k.dense().gemm_batched(false, false, p, v, o, 0.f);
  Tensor y = ctx.empty({1, g.t, g.d}, dt);
  att.heads_into(o, 0, heads, y);
  return y;
}

}  // namespace ty::ops
