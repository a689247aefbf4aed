// Reference gemm and convolution: direct loops, accumulation in the tensor's own type.
#include <cstring>
#include <vector>

#include "runtime/backend/reference/reference_backend.h"

namespace ty {
namespace {

template <class T>
void gemm_impl(bool ta, bool tb, const Tensor& a, const Tensor& b, Tensor& c, float beta, const Tensor* bias) {
  const int64_t m = c.dim(0), n = c.dim(1), k = ta ? a.dim(0) : a.dim(1);
  const T* A = a.data<T>();
  const T* B = b.data<T>();
  T* C = c.data<T>();
  const T* BIAS = bias ? bias->data<T>() : nullptr;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T acc = 0;
      for (int64_t l = 0; l < k; ++l) {
        T av = ta ? A[l * m + i] : A[i * k + l];
        T bv = tb ? B[j * k + l] : B[l * n + j];
        acc += av * bv;
      }
      C[i * n + j] = acc + (beta == 0 ? T(0) : T(beta) * C[i * n + j]) + (BIAS ? BIAS[j] : T(0));
    }
  }
}

// Calls f(n, k, c, r, s, p, q, x_index) for every (output, tap) pair that lands inside x.
template <class F>
void for_each_tap(const ConvGeom& g, F f) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t k = 0; k < g.k; ++k)
      for (int64_t p = 0; p < g.p; ++p)
        for (int64_t q = 0; q < g.q; ++q)
          for (int64_t c = 0; c < g.c; ++c)
            for (int64_t r = 0; r < g.r; ++r) {
              int64_t ih = p * g.stride_h - g.pad_h + r;
              if (ih < 0 || ih >= g.h) continue;
              for (int64_t s = 0; s < g.s; ++s) {
                int64_t iw = q * g.stride_w - g.pad_w + s;
                if (iw < 0 || iw >= g.w) continue;
                f(n, k, c, r, s, p, q, ((n * g.c + c) * g.h + ih) * g.w + iw);
              }
            }
}

inline int64_t widx(const ConvGeom& g, int64_t k, int64_t c, int64_t r, int64_t s) {
  return ((k * g.c + c) * g.r + r) * g.s + s;
}
inline int64_t yidx(const ConvGeom& g, int64_t n, int64_t k, int64_t p, int64_t q) {
  return ((n * g.k + k) * g.p + p) * g.q + q;
}

template <class T>
void conv_fwd(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  const T *X = x.data<T>(), *W = w.data<T>();
  T* Y = y.data<T>();
  for (int64_t i = 0; i < y.numel(); ++i) Y[i] = 0;
  for_each_tap(g, [&](int64_t n, int64_t k, int64_t c, int64_t r, int64_t s, int64_t p, int64_t q, int64_t xi) {
    Y[yidx(g, n, k, p, q)] += X[xi] * W[widx(g, k, c, r, s)];
  });
  if (bias) {
    const T* B = bias->data<T>();
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t k = 0; k < g.k; ++k)
        for (int64_t i = 0; i < g.p * g.q; ++i) Y[(n * g.k + k) * g.p * g.q + i] += B[k];
  }
}

template <class T>
void conv_bwd_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  const T *DY = dy.data<T>(), *W = w.data<T>();
  T* DX = dx.data<T>();
  for (int64_t i = 0; i < dx.numel(); ++i) DX[i] = 0;
  for_each_tap(g, [&](int64_t n, int64_t k, int64_t c, int64_t r, int64_t s, int64_t p, int64_t q, int64_t xi) {
    DX[xi] += DY[yidx(g, n, k, p, q)] * W[widx(g, k, c, r, s)];
  });
}

template <class T>
void conv_bwd_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db) {
  const T *X = x.data<T>(), *DY = dy.data<T>();
  T* DW = dw.data<T>();
  for (int64_t i = 0; i < dw.numel(); ++i) DW[i] = 0;
  for_each_tap(g, [&](int64_t n, int64_t k, int64_t c, int64_t r, int64_t s, int64_t p, int64_t q, int64_t xi) {
    DW[widx(g, k, c, r, s)] += DY[yidx(g, n, k, p, q)] * X[xi];
  });
  if (db) {
    T* DB = db->data<T>();
    for (int64_t k = 0; k < g.k; ++k) {
      T acc = 0;
      for (int64_t n = 0; n < g.n; ++n)
        for (int64_t i = 0; i < g.p * g.q; ++i) acc += DY[(n * g.k + k) * g.p * g.q + i];
      DB[k] = acc;
    }
  }
}

}  // namespace

void ReferenceBackend::convert_layout(const Tensor& src, Tensor& dst) {
  CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype());
  if (src.layout() == dst.layout()) {
    dst.copy_from(src);
    return;
  }
  const Shape& s = src.shape();
  const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  const size_t es = dtype_size(src.dtype());
  const bool to_blocked = dst.layout() == Layout::kBlocked16;
  const char* in = static_cast<const char*>(src.raw());
  char* out = static_cast<char*>(dst.raw());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t plain = (i * c + ch) * hw + p;
        const int64_t blocked = ((i * (c / 16) + ch / 16) * hw + p) * 16 + ch % 16;
        std::memcpy(out + (to_blocked ? blocked : plain) * es, in + (to_blocked ? plain : blocked) * es, es);
      }
}

void ReferenceBackend::gemm(bool ta, bool tb, const Tensor& a, const Tensor& b, Tensor& c, float beta,
                            const Tensor* bias) {
  TY_DISPATCH_FLOAT(c.dtype(), T, gemm_impl<T>(ta, tb, a, b, c, beta, bias););
}

void ReferenceBackend::gemm_batched(bool ta, bool tb, const Tensor& a, const Tensor& b, Tensor& c, float beta) {
  const int64_t batch = c.dim(0);
  const auto matrix = [](const Tensor& t, int64_t i) { return t.rows(i, 1).reshape({t.dim(1), t.dim(2)}); };
  for (int64_t i = 0; i < batch; ++i) {
    Tensor ci = matrix(c, i);
    TY_DISPATCH_FLOAT(c.dtype(), T, gemm_impl<T>(ta, tb, matrix(a, i), matrix(b, i), ci, beta, nullptr););
  }
}

void ReferenceBackend::conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias,
                                      Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, conv_fwd<T>(g, x, w, bias, y););
}

void ReferenceBackend::conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  TY_DISPATCH_FLOAT(dy.dtype(), T, conv_bwd_data<T>(g, dy, w, dx););
}

void ReferenceBackend::conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                                               Tensor* db) {
  TY_DISPATCH_FLOAT(x.dtype(), T, conv_bwd_weights<T>(g, x, dy, dw, db););
}

}  // namespace ty
