// oneDNN matmul and convolution.
#include <cstdio>

#include "runtime/backend/cpu/onednn_backend.h"

namespace ty {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

OnednnBackend::OnednnBackend() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

memory OnednnBackend::mem(const memory::desc& d, const Tensor& t) const { return memory(d, engine_, t.raw()); }

memory::desc OnednnBackend::activation_desc(const Shape& s, Layout layout) {
  return memory::desc({s[0], s[1], s[2], s[3]}, dt::f32, layout == Layout::kBlocked16 ? tag::aBcd16b : tag::nchw);
}

void OnednnBackend::convert_layout(const Tensor& src, Tensor& dst) {
  CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype());
  if (src.layout() == dst.layout()) {
    dst.copy_from(src);
    return;
  }
  const Shape& s = src.shape();
  char key[128];
  std::snprintf(key, sizeof key, "reorder:%ld,%ld,%ld,%ld:%d", s[0], s[1], s[2], s[3], static_cast<int>(dst.layout()));
  struct Reorder {
    dnnl::reorder prim;
    memory::desc from, to;
  };
  auto& r = cached<Reorder>(key, [&] {
    memory::desc from = activation_desc(s, src.layout()), to = activation_desc(s, dst.layout());
    return Reorder{dnnl::reorder(dnnl::reorder::primitive_desc(engine_, from, engine_, to)), from, to};
  });
  memory in = mem(r.from, src), out = mem(r.to, dst);
  r.prim.execute(stream_, in, out);
}

memory OnednnBackend::to_layout(const memory::desc& plain, const memory::desc& want, const Tensor& t, Tensor& scratch) {
  if (plain == want) return mem(plain, t);
  scratch = Tensor::empty(t.allocator(), {static_cast<int64_t>(want.get_size())}, DType::kU8);
  memory src = mem(plain, t), dst(want, engine_, scratch.raw());
  dnnl::reorder(src, dst).execute(stream_, src, dst);
  return dst;
}

void OnednnBackend::from_layout(const memory::desc& plain, const memory::desc& want, Tensor& t,
                                const std::function<void(const memory&)>& body) {
  if (plain == want) {
    body(mem(plain, t));
    return;
  }
  Tensor scratch = Tensor::empty(t.allocator(), {static_cast<int64_t>(want.get_size())}, DType::kU8);
  memory blocked(want, engine_, scratch.raw()), out = mem(plain, t);
  body(blocked);
  dnnl::reorder(blocked, out).execute(stream_, blocked, out);
}

namespace {

struct Matmul {
  dnnl::matmul prim;
  memory::desc a, b, c, bias;
};

struct Reorder2d {
  dnnl::reorder prim;
  memory::desc src, dst;
};

std::string key_of(const char* kind, const ConvGeom& g) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s:%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld", kind, g.n, g.c, g.h, g.w, g.k,
                g.r, g.s, g.stride_h, g.stride_w, g.pad_h, g.pad_w, static_cast<long>(g.p * 100000 + g.q));
  return buf;
}

// x and y as the tensors lie (plain or blocked); the primitives themselves pick their own
// formats ("any") and to_layout/from_layout reorder only where the two differ.
struct ConvDescs {
  memory::desc x, w, b, y;
  memory::dims strides, pad_l, pad_r;
  ConvDescs(const ConvGeom& g, Layout x_layout = Layout::kPlain, Layout y_layout = Layout::kPlain)
      : x(OnednnBackend::activation_desc({g.n, g.c, g.h, g.w}, x_layout)),
        w({g.k, g.c, g.r, g.s}, dt::f32, tag::oihw),
        b({g.k}, dt::f32, tag::x),
        y(OnednnBackend::activation_desc({g.n, g.k, g.p, g.q}, y_layout)),
        strides{g.stride_h, g.stride_w},
        pad_l{g.pad_h, g.pad_w},
        pad_r{(g.p - 1) * g.stride_h + g.r - g.h - g.pad_h, (g.q - 1) * g.stride_w + g.s - g.w - g.pad_w} {}
  static memory::desc any(const memory::desc& d) { return memory::desc(d.dims(), dt::f32, tag::any); }
};

dnnl::convolution_forward::primitive_desc conv_fwd_pd(const ConvGeom& g, const dnnl::engine& e, bool bias) {
  ConvDescs d(g);
  auto desc = bias ? dnnl::convolution_forward::desc(
                         dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, ConvDescs::any(d.x),
                         ConvDescs::any(d.w), d.b, ConvDescs::any(d.y), d.strides, d.pad_l, d.pad_r)
                   : dnnl::convolution_forward::desc(
                         dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, ConvDescs::any(d.x),
                         ConvDescs::any(d.w), ConvDescs::any(d.y), d.strides, d.pad_l, d.pad_r);
  return {desc, e};
}

struct ConvFwd {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
};
struct ConvBwdData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
};
struct ConvBwdWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
};

}  // namespace

// Whether a product with a transposed a (a weight gradient, dW = dyᵀ x, summing over a
// long batch) runs faster with an operand transposed into plain rows first: oneDNN 2.6's
// matmul takes a transposed a at about half its plain rate on AVX2 (32 vs 66 GFLOP/s for
// 1024 × 256 × 4096 on one core), and the copy (a reorder, 7 ms for 16 MiB) is worth it
// once the product is large.
void OnednnBackend::transpose(const Tensor& src, int64_t rows, int64_t cols, Tensor& dst) {
  char key[96];
  std::snprintf(key, sizeof key, "transpose:%ld,%ld", rows, cols);
  auto& t = cached<Reorder2d>(key, [&] {
    memory::desc from({cols, rows}, dt::f32, memory::dims{1, cols}), to({cols, rows}, dt::f32, memory::dims{rows, 1});
    return Reorder2d{dnnl::reorder(dnnl::reorder::primitive_desc(engine_, from, engine_, to)), from, to};
  });
  t.prim.execute(stream_, {{DNNL_ARG_FROM, mem(t.src, src)}, {DNNL_ARG_TO, mem(t.dst, dst)}});
}

static bool transpose_first(int64_t m, int64_t n, int64_t k) { return k >= 256 && m * n * k >= (int64_t{1} << 22); }

void OnednnBackend::gemm(bool ta, bool tb, const Tensor& a, const Tensor& b, Tensor& c, float beta,
                         const Tensor* bias) {
  const int64_t m = c.dim(0), n = c.dim(1), k = ta ? a.dim(0) : a.dim(1);
  if (ta && transpose_first(m, n, k)) {
    if (!tb && beta == 0 && bias == nullptr && m < n) {
      // cᵀ (n, m) = bᵀ (n, k) a (k, m): b moves, and then the result (oneDNN runs the
      // product faster with the narrower result: 68 vs 46 GFLOP/s for 512 × 128 × 4096).
      Tensor bt = Tensor::empty(c.allocator(), {n, k}, DType::kF32, c.device());
      Tensor ct = Tensor::empty(c.allocator(), {n, m}, DType::kF32, c.device());
      transpose(b, k, n, bt);
      gemm(false, false, bt, a, ct, 0.f, nullptr);
      transpose(ct, n, m, c);
      return;
    }
    Tensor plain_a = Tensor::empty(c.allocator(), {m, k}, DType::kF32, c.device());
    transpose(a, k, m, plain_a);
    gemm(false, tb, plain_a, b, c, beta, bias);
    return;
  }
  char key[128];
  std::snprintf(key, sizeof key, "gemm:%d,%d,%ld,%ld,%ld,%g,%d", ta, tb, m, n, k, beta, bias != nullptr);
  auto& mm = cached<Matmul>(key, [&] {
    memory::desc ad({m, k}, dt::f32, ta ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc bd({k, n}, dt::f32, tb ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc cd({m, n}, dt::f32, memory::dims{n, 1});
    memory::desc biasd({1, n}, dt::f32, memory::dims{n, 1});
    dnnl::primitive_attr attr;
    if (beta != 0) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    auto desc = bias ? dnnl::matmul::desc(ad, bd, biasd, cd) : dnnl::matmul::desc(ad, bd, cd);
    dnnl::matmul::primitive_desc pd(desc, attr, engine_);
    return Matmul{dnnl::matmul(pd), ad, bd, cd, biasd};
  });
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, mem(mm.a, a)}, {DNNL_ARG_WEIGHTS, mem(mm.b, b)}, {DNNL_ARG_DST, mem(mm.c, c)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, mem(mm.bias, *bias));
  mm.prim.execute(stream_, args);
}

void OnednnBackend::gemm_batched(bool ta, bool tb, const Tensor& a, const Tensor& b, Tensor& c, float beta) {
  const int64_t bs = c.dim(0), m = c.dim(1), n = c.dim(2), k = ta ? a.dim(1) : a.dim(2);
  char key[128];
  std::snprintf(key, sizeof key, "bgemm:%d,%d,%ld,%ld,%ld,%ld,%g", ta, tb, bs, m, n, k, beta);
  auto& mm = cached<Matmul>(key, [&] {
    memory::desc ad({bs, m, k}, dt::f32, ta ? memory::dims{m * k, 1, m} : memory::dims{m * k, k, 1});
    memory::desc bd({bs, k, n}, dt::f32, tb ? memory::dims{k * n, 1, k} : memory::dims{k * n, n, 1});
    memory::desc cd({bs, m, n}, dt::f32, memory::dims{m * n, n, 1});
    dnnl::primitive_attr attr;
    if (beta != 0) {
      dnnl::post_ops ops;
      ops.append_sum(beta);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, engine_);
    return Matmul{dnnl::matmul(pd), ad, bd, cd, memory::desc()};
  });
  mm.prim.execute(stream_,
                  {{DNNL_ARG_SRC, mem(mm.a, a)}, {DNNL_ARG_WEIGHTS, mem(mm.b, b)}, {DNNL_ARG_DST, mem(mm.c, c)}});
}

void OnednnBackend::conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  auto& cf = cached<ConvFwd>(key_of(bias ? "convf_b" : "convf", g), [&] {
    auto pd = conv_fwd_pd(g, engine_, bias != nullptr);
    return ConvFwd{pd, dnnl::convolution_forward(pd)};
  });
  ConvDescs d(g, x.layout(), y.layout());
  Tensor xs, ws;
  memory xm = to_layout(d.x, cf.pd.src_desc(), x, xs);
  memory wm = to_layout(d.w, cf.pd.weights_desc(), w, ws);
  from_layout(d.y, cf.pd.dst_desc(), y, [&](const memory& ym) {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
    if (bias) args.emplace(DNNL_ARG_BIAS, mem(d.b, *bias));
    cf.prim.execute(stream_, args);
  });
}

void OnednnBackend::conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  auto& cb = cached<ConvBwdData>(key_of("convbd", g), [&] {
    ConvDescs d(g);
    auto hint = conv_fwd_pd(g, engine_, false);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, ConvDescs::any(d.x),
                                               ConvDescs::any(d.w), ConvDescs::any(d.y), d.strides, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, engine_, hint);
    return ConvBwdData{pd, dnnl::convolution_backward_data(pd)};
  });
  ConvDescs d(g, dx.layout(), dy.layout());
  Tensor dys, ws;
  memory dym = to_layout(d.y, cb.pd.diff_dst_desc(), dy, dys);
  memory wm = to_layout(d.w, cb.pd.weights_desc(), w, ws);
  from_layout(d.x, cb.pd.diff_src_desc(), dx, [&](const memory& dxm) {
    cb.prim.execute(stream_, {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
  });
}

void OnednnBackend::conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                                            Tensor* db) {
  auto& cb = cached<ConvBwdWeights>(key_of(db ? "convbw_b" : "convbw", g), [&] {
    ConvDescs d(g);
    auto hint = conv_fwd_pd(g, engine_, db != nullptr);
    auto desc = db ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, ConvDescs::any(d.x),
                                                              ConvDescs::any(d.w), d.b, ConvDescs::any(d.y), d.strides,
                                                              d.pad_l, d.pad_r)
                   : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, ConvDescs::any(d.x),
                                                              ConvDescs::any(d.w), ConvDescs::any(d.y), d.strides,
                                                              d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, engine_, hint);
    return ConvBwdWeights{pd, dnnl::convolution_backward_weights(pd)};
  });
  ConvDescs d(g, x.layout(), dy.layout());
  Tensor xs, dys;
  memory xm = to_layout(d.x, cb.pd.src_desc(), x, xs);
  memory dym = to_layout(d.y, cb.pd.diff_dst_desc(), dy, dys);
  from_layout(d.w, cb.pd.diff_weights_desc(), dw, [&](const memory& dwm) {
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm}};
    if (db) args.emplace(DNNL_ARG_DIFF_BIAS, mem(d.b, *db));
    cb.prim.execute(stream_, args);
  });
}

}  // namespace ty
