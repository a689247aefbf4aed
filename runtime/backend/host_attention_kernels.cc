// HostKernels' attention family: head moves and the causal softmax, as loops over host
// memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/backend/host_kernels.h"

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
      for (int64_t t = 0; t < g.t; ++t) f((n * g.t + t) * g.w + offset + h * g.dh, ((n * g.heads + h) * g.t + t) * g.dh);
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

void HostKernels::causal_softmax_forward(const Tensor& s, float scale, Tensor& p) {
  const int64_t b = s.dim(0), tq = s.dim(1), tk = s.dim(2), first = tk - tq;
  TY_DISPATCH_FLOAT(s.dtype(), T, {
    const T* S = s.data<T>();
    T* P = p.data<T>();
    for (int64_t r = 0; r < b * tq; ++r) {
      const int64_t i = r % tq, visible = std::min(tk, first + i + 1);
      const T* x = S + r * tk;
      T* y = P + r * tk;
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < visible; ++j) mx = std::max(mx, x[j] * T(scale));
      T sum = 0;
      for (int64_t j = 0; j < visible; ++j) sum += (y[j] = std::exp(x[j] * T(scale) - mx));
      const T inv = T(1) / sum;
      for (int64_t j = 0; j < visible; ++j) y[j] *= inv;
      for (int64_t j = visible; j < tk; ++j) y[j] = 0;
    }
  });
}

void HostKernels::causal_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) {
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

}  // namespace ty
