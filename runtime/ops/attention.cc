// Multi-head attention from packed projections: per head, scores = q kᵀ, the masked softmax
// (scaled by 1/√dh; later keys and padding masked, one kernel), then the weighted sum of the
// values; batched products on the dense family, head moves and the softmax on the attention
// family. One tape node each, keeping q, k, v and the weights for the backward.
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

namespace {

// The products, masked softmax and head moves of attention once the heads are cut: q
// (B, Tq, dh), k and v (B, Tk, dh) with B = N·heads -> o (B, Tq, dh), keeping the weights p.
struct AttentionCore {
  Tensor q, k, v, p;
  float scale;
};

Tensor attend(Context& ctx, AttentionCore& a, int64_t heads, bool causal, const Tensor* key_len) {
  const DType dt = a.q.dtype();
  const int64_t b = a.q.dim(0), tq = a.q.dim(1), tk = a.k.dim(1), dh = a.q.dim(2);
  Kernels& k = ctx.kernels(dt);
  Tensor s = ctx.empty({b, tq, tk}, dt);
  a.p = ctx.empty({b, tq, tk}, dt);
  k.dense().gemm_batched(false, true, a.q, a.k, s, 0.f);
  k.attention().masked_softmax_forward(s, a.scale, causal, key_len, heads, a.p);
  Tensor o = ctx.empty({b, tq, dh}, dt);
  k.dense().gemm_batched(false, false, a.p, a.v, o, 0.f);
  return o;
}

// The gradients of q, k, v from that of o.
void attend_backward(Context& ctx, const AttentionCore& a, const Tensor& d_o, Tensor& dq, Tensor& dk, Tensor& dv) {
  const DType dt = d_o.dtype();
  Kernels& k = ctx.kernels(dt);
  const int64_t b = a.p.dim(0), tq = a.p.dim(1), tk = a.p.dim(2);
  Tensor dp = ctx.empty({b, tq, tk}, dt);
  k.dense().gemm_batched(false, true, d_o, a.v, dp, 0.f);
  k.dense().gemm_batched(true, false, a.p, d_o, dv, 0.f);
  Tensor ds = ctx.empty({b, tq, tk}, dt);
  k.attention().masked_softmax_backward(a.p, dp, a.scale, ds);
  k.dense().gemm_batched(false, false, ds, a.k, dq, 0.f);
  k.dense().gemm_batched(true, false, ds, a.q, dk, 0.f);
}

void check_key_len(const Context& ctx, const Tensor* key_len, int64_t n) {
  if (!key_len) return;
  CHECK(key_len->dtype() == DType::kI32 && key_len->numel() == n)
      << "attention key lengths: i32 (" << n << "), got " << shape_str(key_len->shape());
  CHECK(key_len->device() == ctx.device()) << "attention key lengths on " << key_len->device().str()
                                           << ", the attention on " << ctx.device().str();
}

}  // namespace

Var self_attention(Context& ctx, const Var& qkv_in, int64_t heads, bool causal, const Tensor* key_len) {
  const Var qkv = plain(ctx, qkv_in);
  const HeadShape g = head_shape(qkv.shape(), heads);
  check_key_len(ctx, key_len, g.n);
  const DType dt = qkv.dtype();
  const int64_t b = g.n * heads;
  AttentionKernels& att = ctx.kernels(dt).attention();
  AttentionCore a{ctx.empty({b, g.t, g.dh}, dt), ctx.empty({b, g.t, g.dh}, dt), ctx.empty({b, g.t, g.dh}, dt), Tensor(),
                  static_cast<float>(1.0 / std::sqrt(double(g.dh)))};
  att.heads_from(qkv.value(), 0, heads, a.q);
  att.heads_from(qkv.value(), g.d, heads, a.k);
  att.heads_from(qkv.value(), 2 * g.d, heads, a.v);
  const Tensor o = attend(ctx, a, heads, causal, key_len);
  Tensor y = ctx.empty({g.n, g.t, g.d}, dt);
  att.heads_into(o, 0, heads, y);
  return record_op(ctx, {qkv}, Var(y), [&ctx, qkv, a, g, b](const Tensor& dy) {
    const DType dt = dy.dtype();
    AttentionKernels& att = ctx.kernels(dt).attention();
    Tensor d_o = ctx.empty({b, g.t, g.dh}, dt);
    att.heads_from(dy, 0, g.heads, d_o);
    Tensor dq = ctx.empty({b, g.t, g.dh}, dt), dk = ctx.empty({b, g.t, g.dh}, dt), dv = ctx.empty({b, g.t, g.dh}, dt);
    attend_backward(ctx, a, d_o, dq, dk, dv);
    Tensor dqkv = ctx.empty(qkv.shape(), dt);
    att.heads_into(dq, 0, g.heads, dqkv);
    att.heads_into(dk, g.d, g.heads, dqkv);
    att.heads_into(dv, 2 * g.d, g.heads, dqkv);
    qkv.accumulate_grad(ctx, dqkv);
  });
}

Var cross_attention(Context& ctx, const Var& q_in, const Var& kv_in, int64_t heads, const Tensor* key_len) {
  const Var q = plain(ctx, q_in), kv = plain(ctx, kv_in);
  CHECK_EQ(q.shape().size(), 3u) << "cross-attention queries (N, Tq, D), got " << shape_str(q.shape());
  CHECK_EQ(kv.shape().size(), 3u) << "cross-attention keys and values (N, Tk, 2D), got " << shape_str(kv.shape());
  const int64_t n = q.shape()[0], tq = q.shape()[1], d = q.shape()[2], tk = kv.shape()[1];
  CHECK(kv.shape()[0] == n && kv.shape()[2] == 2 * d && d % heads == 0)
      << "cross-attention: queries " << shape_str(q.shape()) << ", keys and values " << shape_str(kv.shape()) << ", "
      << heads << " heads";
  check_key_len(ctx, key_len, n);
  const DType dt = q.dtype();
  const int64_t dh = d / heads, b = n * heads;
  AttentionKernels& att = ctx.kernels(dt).attention();
  AttentionCore a{ctx.empty({b, tq, dh}, dt), ctx.empty({b, tk, dh}, dt), ctx.empty({b, tk, dh}, dt), Tensor(),
                  static_cast<float>(1.0 / std::sqrt(double(dh)))};
  att.heads_from(q.value(), 0, heads, a.q);
  att.heads_from(kv.value(), 0, heads, a.k);
  att.heads_from(kv.value(), d, heads, a.v);
  const Tensor o = attend(ctx, a, heads, false, key_len);
  Tensor y = ctx.empty({n, tq, d}, dt);
  att.heads_into(o, 0, heads, y);
  return record_op(ctx, {q, kv}, Var(y), [&ctx, q, kv, a, heads, b, tq, tk, dh, d](const Tensor& dy) {
    const DType dt = dy.dtype();
    AttentionKernels& att = ctx.kernels(dt).attention();
    Tensor d_o = ctx.empty({b, tq, dh}, dt);
    att.heads_from(dy, 0, heads, d_o);
    Tensor dq = ctx.empty({b, tq, dh}, dt), dk = ctx.empty({b, tk, dh}, dt), dv = ctx.empty({b, tk, dh}, dt);
    attend_backward(ctx, a, d_o, dq, dk, dv);
    Tensor gq = ctx.empty(q.shape(), dt), gkv = ctx.empty(kv.shape(), dt);
    att.heads_into(dq, 0, heads, gq);
    att.heads_into(dk, 0, heads, gkv);
    att.heads_into(dv, d, heads, gkv);
    if (q.requires_grad()) q.accumulate_grad(ctx, gq);
    if (kv.requires_grad()) kv.accumulate_grad(ctx, gkv);
  });
}

Tensor gathered_attention(Context& ctx, const Tensor& q, const GatheredKeys& keys, int64_t d, int64_t heads) {
  CHECK(q.shape().size() == 2 && q.dim(1) >= d && d % heads == 0)
      << "gathered attention: queries (N, >= " << d << ") for " << heads << " heads, got " << shape_str(q.shape());
  const int64_t n = q.dim(0);
  CHECK(keys.table.shape().size() == 2 && keys.k_offset + d <= keys.table.dim(1) &&
        keys.v_offset + d <= keys.table.dim(1))
      << "gathered attention: a table of keys at " << keys.k_offset << " and values at " << keys.v_offset << ", "
      << d << " wide, got " << shape_str(keys.table.shape());
  CHECK(keys.index.dtype() == DType::kI32 && keys.index.shape().size() == 2 && keys.index.dim(0) == n &&
        keys.len.dtype() == DType::kI32 && keys.len.numel() == n)
      << "gathered attention: index i32 (" << n << ", T) and len i32 (" << n << "), got "
      << shape_str(keys.index.shape()) << " and " << shape_str(keys.len.shape());
  CHECK(keys.table.dtype() == q.dtype()) << "gathered attention: a " << dtype_name(keys.table.dtype())
                                         << " table for " << dtype_name(q.dtype()) << " queries";
  for (const Tensor* t : {&q, &keys.table, &keys.index, &keys.len})
    CHECK(t->device() == ctx.device()) << "gathered attention: an operand on " << t->device().str()
                                       << ", the attention on " << ctx.device().str();
  Tensor y = ctx.empty({n, d}, q.dtype());
  ctx.kernels(q.dtype())
      .attention()
      .gathered_attention(q, keys.table, keys.k_offset, keys.v_offset, keys.index, keys.len, heads,
                          static_cast<float>(1.0 / std::sqrt(double(d / heads))), y);
  return y;
}

Tensor cached_causal_self_attention(Context& ctx, const Tensor& qkv, int64_t heads, Tensor& cache, int64_t& len) {
  const HeadShape g = head_shape(qkv.shape(), heads);
  CHECK(cache.shape().size() == 3 && cache.dim(1) == g.n && cache.dim(2) == 3 * g.d)
      << "the attention cache is (capacity, " << g.n << ", " << 3 * g.d << "), got " << shape_str(cache.shape());
  CHECK_LE(len + g.t, cache.dim(0)) << "the attention cache holds " << cache.dim(0) << " positions";
  const DType dt = qkv.dtype();
  Kernels& k = ctx.kernels(dt);
  // Time-major in the cache: new positions go in with one copy, the filled part reads out
  // as one block.
  Tensor slots = cache.rows(len, g.t);
  if (g.t == 1 || g.n == 1)
    slots.copy_from(qkv.reshape({g.t, g.n, 3 * g.d}));
  else
    k.recurrent().swap_axes01(qkv, slots);
  len += g.t;
  Tensor all = cache.rows(0, len);
  if (g.n == 1) {
    all = all.reshape({1, len, 3 * g.d});
  } else {
    Tensor batch_major = ctx.empty({g.n, len, 3 * g.d}, dt);
    k.recurrent().swap_axes01(all, batch_major);
    all = batch_major;
  }
  AttentionKernels& att = k.attention();
  const int64_t b = g.n * heads;
  AttentionCore a{ctx.empty({b, g.t, g.dh}, dt), ctx.empty({b, len, g.dh}, dt), ctx.empty({b, len, g.dh}, dt), Tensor(),
                  static_cast<float>(1.0 / std::sqrt(double(g.dh)))};
  att.heads_from(qkv, 0, heads, a.q);
  att.heads_from(all, g.d, heads, a.k);
  att.heads_from(all, 2 * g.d, heads, a.v);
  const Tensor o = attend(ctx, a, heads, true, nullptr);
  Tensor y = ctx.empty({g.n, g.t, g.d}, dt);
  att.heads_into(o, 0, heads, y);
  return y;
}

}  // namespace ty::ops
