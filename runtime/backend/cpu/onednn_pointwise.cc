// oneDNN pooling, eltwise, softmax, batch norm and layer norm.
#include <cstdio>

#include "runtime/backend/cpu/onednn_backend.h"

namespace ty {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

std::string key_of(const char* kind, std::initializer_list<int64_t> v) {
  std::string k(kind);
  for (int64_t x : v) {
    k.push_back(':');
    k.append(std::to_string(x));
  }
  return k;
}

struct PoolDescs {
  memory::desc x, y;
  memory::dims kernel, strides, pad_l, pad_r;
  dnnl::algorithm alg;
  PoolDescs(const PoolGeom& g, Layout layout)
      : x(OnednnBackend::activation_desc({g.n, g.c, g.h, g.w}, layout)),
        y(OnednnBackend::activation_desc({g.n, g.c, g.p, g.q}, layout)),
        kernel{g.kh, g.kw},
        strides{g.stride_h, g.stride_w},
        pad_l{g.pad_h, g.pad_w},
        pad_r{(g.p - 1) * g.stride_h + g.kh - g.h - g.pad_h, (g.q - 1) * g.stride_w + g.kw - g.w - g.pad_w},
        alg(g.max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding) {}
  dnnl::pooling_forward::primitive_desc fwd(const dnnl::engine& e) const {
    return {dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, alg, x, y, strides, kernel, pad_l, pad_r),
            e};
  }
};

struct PoolFwd {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward prim;
};
struct PoolBwd {
  dnnl::pooling_backward prim;
  memory::desc workspace;
};

dnnl::algorithm eltwise_alg(Eltwise kind) {
  switch (kind) {
    case Eltwise::kRelu:
    case Eltwise::kLeakyRelu: return dnnl::algorithm::eltwise_relu;
    case Eltwise::kGelu: return dnnl::algorithm::eltwise_gelu_erf;
    case Eltwise::kTanh: return dnnl::algorithm::eltwise_tanh;
    case Eltwise::kSigmoid: return dnnl::algorithm::eltwise_logistic;
  }
  return dnnl::algorithm::eltwise_relu;
}

struct EltFwd {
  dnnl::eltwise_forward::primitive_desc pd;
  dnnl::eltwise_forward prim;
};
struct EltBwd {
  dnnl::eltwise_backward prim;
};

memory::desc rows_cols(const Tensor& t) {
  int64_t cols = t.dim(-1), rows = t.numel() / std::max<int64_t>(cols, 1);
  return memory::desc({rows, cols}, dt::f32, tag::ab);
}

struct SoftFwd {
  dnnl::softmax_v2_forward::primitive_desc pd;
  dnnl::softmax_v2_forward prim;
};
struct SoftBwd {
  dnnl::softmax_v2_backward prim;
};

// Batch norm data: a 4-D tensor as it lies; anything else as (N, C, S, 1), NCHW.
memory::desc ncs(const Tensor& x) {
  if (x.ndim() == 4) return OnednnBackend::activation_desc(x.shape(), x.layout());
  int64_t n = x.dim(0), c = x.ndim() > 1 ? x.dim(1) : 1;
  return memory::desc({n, c, x.numel() / std::max<int64_t>(n * c, 1), 1}, dt::f32, tag::nchw);
}

dnnl::normalization_flags bn_flags(bool training) {
  auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (!training) f = f | dnnl::normalization_flags::use_global_stats;
  return f;
}

struct BnFwd {
  dnnl::batch_normalization_forward::primitive_desc pd;
  dnnl::batch_normalization_forward prim;
};
struct BnBwd {
  dnnl::batch_normalization_backward prim;
};
struct LnFwd {
  dnnl::layer_normalization_forward::primitive_desc pd;
  dnnl::layer_normalization_forward prim;
};
struct LnBwd {
  dnnl::layer_normalization_backward prim;
};

}  // namespace

void OnednnBackend::pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) {
  CHECK(x.layout() == y.layout()) << "pool2d from " << layout_name(x.layout()) << " to " << layout_name(y.layout());
  PoolDescs d(g, x.layout());
  auto& pf = cached<PoolFwd>(key_of("poolf", {g.n, g.c, g.h, g.w, g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w,
                                              g.max, static_cast<int64_t>(x.layout())}),
                             [&] {
                               auto pd = d.fwd(engine_);
                               return PoolFwd{pd, dnnl::pooling_forward(pd)};
                             });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, mem(d.x, x)}, {DNNL_ARG_DST, mem(d.y, y)}};
  if (g.max) {
    *workspace = Tensor::empty(x.allocator(), {static_cast<int64_t>(pf.pd.workspace_desc().get_size())}, DType::kU8);
    args.emplace(DNNL_ARG_WORKSPACE, mem(pf.pd.workspace_desc(), *workspace));
  }
  pf.prim.execute(stream_, args);
}

void OnednnBackend::pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& ws, Tensor& dx) {
  CHECK(dx.layout() == dy.layout());
  PoolDescs d(g, dx.layout());
  auto key = key_of("poolb", {g.n, g.c, g.h, g.w, g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.max,
                              static_cast<int64_t>(dx.layout())});
  auto& pb = cached<PoolBwd>(key, [&] {
    auto hint = d.fwd(engine_);
    dnnl::pooling_backward::primitive_desc pd(
        dnnl::pooling_backward::desc(d.alg, d.x, d.y, d.strides, d.kernel, d.pad_l, d.pad_r), engine_, hint);
    return PoolBwd{dnnl::pooling_backward(pd), hint.workspace_desc()};
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, mem(d.y, dy)}, {DNNL_ARG_DIFF_SRC, mem(d.x, dx)}};
  if (g.max) args.emplace(DNNL_ARG_WORKSPACE, mem(pb.workspace, ws));
  pb.prim.execute(stream_, args);
}

void OnednnBackend::eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) {
  memory::desc d({x.numel()}, dt::f32, tag::a);
  float a = kind == Eltwise::kLeakyRelu ? alpha : 0.f;
  char key[96];
  std::snprintf(key, sizeof key, "eltf:%d:%g:%ld", static_cast<int>(kind), a, x.numel());
  auto& ef = cached<EltFwd>(key, [&] {
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, eltwise_alg(kind), d, a), engine_);
    return EltFwd{pd, dnnl::eltwise_forward(pd)};
  });
  ef.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DST, mem(d, y)}});
}

void OnednnBackend::eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) {
  memory::desc d({x.numel()}, dt::f32, tag::a);
  float a = kind == Eltwise::kLeakyRelu ? alpha : 0.f;
  char key[96];
  std::snprintf(key, sizeof key, "eltb:%d:%g:%ld", static_cast<int>(kind), a, x.numel());
  auto& eb = cached<EltBwd>(key, [&] {
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, eltwise_alg(kind), d, a), engine_);
    dnnl::eltwise_backward::primitive_desc pd(dnnl::eltwise_backward::desc(eltwise_alg(kind), d, d, a), engine_, hint);
    return EltBwd{dnnl::eltwise_backward(pd)};
  });
  eb.prim.execute(stream_,
                  {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DIFF_DST, mem(d, dy)}, {DNNL_ARG_DIFF_SRC, mem(d, dx)}});
}

void OnednnBackend::softmax_forward(bool log, const Tensor& x, Tensor& y) {
  memory::desc d = rows_cols(x);
  auto alg = log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
  auto& sf = cached<SoftFwd>(key_of("softf", {log, d.dims()[0], d.dims()[1]}), [&] {
    dnnl::softmax_v2_forward::primitive_desc pd(
        dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training, alg, d, d, 1), engine_);
    return SoftFwd{pd, dnnl::softmax_v2_forward(pd)};
  });
  sf.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)}, {DNNL_ARG_DST, mem(d, y)}});
}

void OnednnBackend::softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) {
  memory::desc d = rows_cols(y);
  auto alg = log ? dnnl::algorithm::softmax_log : dnnl::algorithm::softmax_accurate;
  auto& sb = cached<SoftBwd>(key_of("softb", {log, d.dims()[0], d.dims()[1]}), [&] {
    dnnl::softmax_v2_forward::primitive_desc hint(
        dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training, alg, d, d, 1), engine_);
    dnnl::softmax_v2_backward::primitive_desc pd(dnnl::softmax_v2_backward::desc(alg, d, d, d, 1), engine_, hint);
    return SoftBwd{dnnl::softmax_v2_backward(pd)};
  });
  sb.prim.execute(stream_,
                  {{DNNL_ARG_DST, mem(d, y)}, {DNNL_ARG_DIFF_DST, mem(d, dy)}, {DNNL_ARG_DIFF_SRC, mem(d, dx)}});
}

void OnednnBackend::batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                                      bool training, Tensor& mean, Tensor& var, Tensor& y) {
  memory::desc d = ncs(x), c({gamma.numel()}, dt::f32, tag::a);
  auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  char key[128];
  std::snprintf(key, sizeof key, "bnf:%d:%g:%ld:%ld:%ld:%ld:%d", training, eps, d.dims()[0], d.dims()[1], d.dims()[2],
                d.dims()[3], static_cast<int>(x.layout()));
  auto& bf = cached<BnFwd>(key, [&] {
    dnnl::batch_normalization_forward::primitive_desc pd(
        dnnl::batch_normalization_forward::desc(prop, d, eps, bn_flags(training)), engine_);
    return BnFwd{pd, dnnl::batch_normalization_forward(pd)};
  });
  bf.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)},
                            {DNNL_ARG_DST, mem(d, y)},
                            {DNNL_ARG_SCALE, mem(c, gamma)},
                            {DNNL_ARG_SHIFT, mem(c, beta)},
                            {DNNL_ARG_MEAN, mem(c, mean)},
                            {DNNL_ARG_VARIANCE, mem(c, var)}});
}

void OnednnBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                       const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma,
                                       Tensor& dbeta) {
  memory::desc d = ncs(x), c({gamma.numel()}, dt::f32, tag::a);
  char key[128];
  std::snprintf(key, sizeof key, "bnb:%d:%g:%ld:%ld:%ld:%ld:%d", training, eps, d.dims()[0], d.dims()[1], d.dims()[2],
                d.dims()[3], static_cast<int>(x.layout()));
  auto& bb = cached<BnBwd>(key, [&] {
    auto prop = training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    dnnl::batch_normalization_forward::primitive_desc hint(
        dnnl::batch_normalization_forward::desc(prop, d, eps, bn_flags(training)), engine_);
    dnnl::batch_normalization_backward::primitive_desc pd(
        dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, d, d, eps, bn_flags(training)), engine_,
        hint);
    return BnBwd{dnnl::batch_normalization_backward(pd)};
  });
  bb.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)},
                            {DNNL_ARG_DIFF_DST, mem(d, dy)},
                            {DNNL_ARG_SCALE, mem(c, gamma)},
                            // oneDNN 2.6 insists on a shift argument in backward though its
                            // values do not enter the gradients.
                            {DNNL_ARG_SHIFT, mem(c, gamma)},
                            {DNNL_ARG_MEAN, mem(c, mean)},
                            {DNNL_ARG_VARIANCE, mem(c, var)},
                            {DNNL_ARG_DIFF_SRC, mem(d, dx)},
                            {DNNL_ARG_DIFF_SCALE, mem(c, dgamma)},
                            {DNNL_ARG_DIFF_SHIFT, mem(c, dbeta)}});
}

void OnednnBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y,
                                      Tensor& mean, Tensor& var) {
  memory::desc d = rows_cols(x), s({d.dims()[0]}, dt::f32, tag::a), c({d.dims()[1]}, dt::f32, tag::a);
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  char key[96];
  std::snprintf(key, sizeof key, "lnf:%g:%ld:%ld", eps, d.dims()[0], d.dims()[1]);
  auto& lf = cached<LnFwd>(key, [&] {
    dnnl::layer_normalization_forward::primitive_desc pd(
        dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_training, d, s, eps, flags), engine_);
    return LnFwd{pd, dnnl::layer_normalization_forward(pd)};
  });
  lf.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)},
                            {DNNL_ARG_DST, mem(d, y)},
                            {DNNL_ARG_SCALE, mem(c, gamma)},
                            {DNNL_ARG_SHIFT, mem(c, beta)},
                            {DNNL_ARG_MEAN, mem(s, mean)},
                            {DNNL_ARG_VARIANCE, mem(s, var)}});
}

void OnednnBackend::layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                       const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  memory::desc d = rows_cols(x), s({d.dims()[0]}, dt::f32, tag::a), c({d.dims()[1]}, dt::f32, tag::a);
  auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  char key[96];
  std::snprintf(key, sizeof key, "lnb:%g:%ld:%ld", eps, d.dims()[0], d.dims()[1]);
  auto& lb = cached<LnBwd>(key, [&] {
    dnnl::layer_normalization_forward::primitive_desc hint(
        dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_training, d, s, eps, flags), engine_);
    dnnl::layer_normalization_backward::primitive_desc pd(
        dnnl::layer_normalization_backward::desc(dnnl::prop_kind::backward, d, d, s, eps, flags), engine_, hint);
    return LnBwd{dnnl::layer_normalization_backward(pd)};
  });
  lb.prim.execute(stream_, {{DNNL_ARG_SRC, mem(d, x)},
                            {DNNL_ARG_DIFF_DST, mem(d, dy)},
                            {DNNL_ARG_SCALE, mem(c, gamma)},
                            {DNNL_ARG_SHIFT, mem(c, gamma)},  // required, unused (see above)
                            {DNNL_ARG_MEAN, mem(s, mean)},
                            {DNNL_ARG_VARIANCE, mem(s, var)},
                            {DNNL_ARG_DIFF_SRC, mem(d, dx)},
                            {DNNL_ARG_DIFF_SCALE, mem(c, dgamma)},
                            {DNNL_ARG_DIFF_SHIFT, mem(c, dbeta)}});
}

}  // namespace ty
