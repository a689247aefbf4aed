// HostKernels' attention family: head moves, the masked softmax and decoding's gathered
// attention, as loops over host memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime/backend/host_kernels.h"
#include "runtime/backend/host_simd.h"

namespace ty {
namespace {

// Shapes of a head move: x (n, t, w) and the per-head (n·heads, t, dh).
struct HeadGeom {
  int64_t n, t, w, heads, dh;
};

HeadGeom head_geom(const Tensor& x, const Tensor& per_head, int64_t heads) {
  return {x.dim(0), x.dim(1), x.dim(2), heads, per_head.dim(2)};
}

// Calls f(x_offset, per_head_offset) for each run of dh elements.
template <class F>
void for_each_head_row(const HeadGeom& g, int64_t offset, F f) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t h = 0; h < g.heads; ++h)
      for (int64_t t = 0; t < g.t; ++t)
        f((n * g.t + t) * g.w + offset + h * g.dh, ((n * g.heads + h) * g.t + t) * g.dh);
}

}  // namespace

void HostKernels::heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& out) {
  const HeadGeom g = head_geom(x, out, heads);
  const size_t es = dtype_size(x.dtype()), run = g.dh * es;
  const char* X = static_cast<const char*>(x.raw());
  char* O = static_cast<char*>(out.raw());
  for_each_head_row(g, offset, [&](int64_t xo, int64_t ho) { std::memcpy(O + ho * es, X + xo * es, run); });
}

void HostKernels::heads_into(const Tensor& in, int64_t offset, int64_t heads, Tensor& x) {
  const HeadGeom g = head_geom(x, in, heads);
  const size_t es = dtype_size(x.dtype()), run = g.dh * es;
  const char* I = static_cast<const char*>(in.raw());
  char* X = static_cast<char*>(x.raw());
  for_each_head_row(g, offset, [&](int64_t xo, int64_t ho) { std::memcpy(X + xo * es, I + ho * es, run); });
}

namespace {

// One score row: the first `visible` keys' softmax, the rest 0 (f32 through fast_exp,
// vectorized).
template <typename T>
__attribute__((always_inline)) inline void masked_softmax_row(const T* __restrict x, T* __restrict y, int64_t visible,
                                                              int64_t tk, T scale) {
  if (visible <= 0) {
    for (int64_t j = 0; j < tk; ++j) y[j] = 0;
    return;
  }
  T mx = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < visible; ++j) mx = x[j] * scale > mx ? x[j] * scale : mx;
  T sum = 0;
  for (int64_t j = 0; j < visible; ++j) {
    y[j] = fast_exp(x[j] * scale - mx);
    sum += y[j];
  }
  const T inv = T(1) / sum;
  for (int64_t j = 0; j < visible; ++j) y[j] *= inv;
  for (int64_t j = visible; j < tk; ++j) y[j] = 0;
}

// The keys row r of (B·Tq) rows sees (AttentionKernels::masked_softmax_forward).
struct Visible {
  int64_t tq, tk, heads;
  bool causal;
  const int32_t* key_len;  // (B / heads) or null
  int64_t operator()(int64_t r) const {
    int64_t v = causal ? std::min(tk, tk - tq + r % tq + 1) : tk;
    if (key_len) v = std::min<int64_t>(v, key_len[r / tq / heads]);
    return v;
  }
};

template <typename T>
__attribute__((always_inline)) inline void masked_softmax_rows(const T* s, T* p, int64_t rows, const Visible& visible,
                                                               T scale) {
  const int64_t tk = visible.tk;
  for (int64_t r = 0; r < rows; ++r) masked_softmax_row(s + r * tk, p + r * tk, visible(r), tk, scale);
}

TY_HOT_CLONES void masked_softmax_f32(const float* s, float* p, int64_t rows, const Visible& visible, float scale) {
  masked_softmax_rows(s, p, rows, visible, scale);
}

}  // namespace

void HostKernels::masked_softmax_forward(const Tensor& s, float scale, bool causal, const Tensor* key_len,
                                         int64_t heads, Tensor& p) {
  const int64_t rows = s.dim(0) * s.dim(1);
  const Visible visible{s.dim(1), s.dim(2), heads, causal, key_len ? key_len->data<int32_t>() : nullptr};
  if (s.dtype() == DType::kF32) return masked_softmax_f32(s.data<float>(), p.data<float>(), rows, visible, scale);
  masked_softmax_rows(s.data<double>(), p.data<double>(), rows, visible, double(scale));
}

void HostKernels::masked_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) {
  const int64_t rows = p.dim(0) * p.dim(1), tk = p.dim(2);
  TY_DISPATCH_FLOAT(p.dtype(), T, {
    const T *P = p.data<T>(), *G = dp.data<T>();
    T* D = ds.data<T>();
    for (int64_t r = 0; r < rows; ++r) {
      const T *y = P + r * tk, *g = G + r * tk;
      T dot = 0;
      for (int64_t j = 0; j < tk; ++j) dot += y[j] * g[j];
      for (int64_t j = 0; j < tk; ++j) D[r * tk + j] = T(scale) * y[j] * (g[j] - dot);
    }
  });
}

namespace {

struct Gathered {
  int64_t n, t, m, w, q_stride, k_offset, v_offset, heads, dh;
  const int32_t *index, *len;
};

// Per row: every visible key's scores for all heads (a table row read once for its keys,
// once for its values), the softmax per head, the weighted sum of the values.
template <typename T>
__attribute__((always_inline)) inline void gathered_rows(const Gathered& g, const T* q, const T* table, T scale,
                                                         T* s, T* y) {
  const int64_t d = g.heads * g.dh;
  for (int64_t r = 0; r < g.n; ++r) {
    T* yr = y + r * d;
    for (int64_t i = 0; i < d; ++i) yr[i] = 0;
    const int64_t visible = std::min<int64_t>(g.len[r], g.t);
    if (visible <= 0) continue;
    const T* qr = q + r * g.q_stride;
    const int32_t* rows = g.index + r * g.t;
    for (int64_t j = 0; j < visible; ++j) {
      CHECK(rows[j] >= 0 && rows[j] < g.m) << "gathered attention: index[" << r << ", " << j << "] = " << rows[j]
                                           << " is outside the table's " << g.m << " rows";
      const T* k = table + rows[j] * g.w + g.k_offset;
      for (int64_t h = 0; h < g.heads; ++h) {
        T dot = 0;
        for (int64_t i = 0; i < g.dh; ++i) dot += qr[h * g.dh + i] * k[h * g.dh + i];
        s[h * g.t + j] = dot * scale;
      }
    }
    for (int64_t h = 0; h < g.heads; ++h) {
      T* sh = s + h * g.t;
      T mx = sh[0];
      for (int64_t j = 1; j < visible; ++j) mx = sh[j] > mx ? sh[j] : mx;
      T sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        sh[j] = fast_exp(sh[j] - mx);
        sum += sh[j];
      }
      const T inv = T(1) / sum;
      for (int64_t j = 0; j < visible; ++j) sh[j] *= inv;
    }
    for (int64_t j = 0; j < visible; ++j) {
      const T* v = table + rows[j] * g.w + g.v_offset;
      for (int64_t h = 0; h < g.heads; ++h) {
        const T p = s[h * g.t + j];
        for (int64_t i = 0; i < g.dh; ++i) yr[h * g.dh + i] += p * v[h * g.dh + i];
      }
    }
  }
}

TY_HOT_CLONES void gathered_f32(const Gathered& g, const float* q, const float* table, float scale, float* s,
                                float* y) {
  gathered_rows(g, q, table, scale, s, y);
}

}  // namespace

void HostKernels::gathered_attention(const Tensor& q, const Tensor& table, int64_t k_offset, int64_t v_offset,
                                     const Tensor& index, const Tensor& len, int64_t heads, float scale, Tensor& y) {
  const Gathered g{y.dim(0), index.dim(1), table.dim(0), table.dim(1), q.dim(1), k_offset, v_offset, heads,
                   y.dim(1) / heads, index.data<int32_t>(), len.data<int32_t>()};
  if (y.dtype() == DType::kF32) {
    std::vector<float> scores(heads * std::max<int64_t>(g.t, 1));
    return gathered_f32(g, q.data<float>(), table.data<float>(), scale, scores.data(), y.data<float>());
  }
  CHECK(y.dtype() == DType::kF64) << "gathered attention on " << dtype_name(y.dtype());
  std::vector<double> scores(heads * std::max<int64_t>(g.t, 1));
  gathered_rows(g, q.data<double>(), table.data<double>(), double(scale), scores.data(), y.data<double>());
}

}  // namespace ty
