// HostKernels' recurrent family: one LSTM or GRU time step's gate arithmetic (f32 through
// host_simd.h's vectorizing exp), and the axis swap, as loops over host memory.
#include <cmath>
#include <cstring>

#include "runtime/backend/host_kernels.h"
#include "runtime/backend/host_simd.h"

namespace ty {
namespace {

// One row of each step (hs states), the gate layout of backend/kernels/recurrent.h; f32
// through fast_exp so that the loops vectorize (inlined into each ISA's clone).
// Gate g's slice of a row of gate blocks, each hs wide: separate restrict pointers, so
// that the compiler sees independent streams (offsets by hs off one pointer defeat it).
#define TY_GATES4(p, T, base, hs)         \
  T* __restrict p##0 = (base);            \
  T* __restrict p##1 = (base) + (hs);     \
  T* __restrict p##2 = (base) + 2 * (hs); \
  T* __restrict p##3 = (base) + 3 * (hs)

template <typename T>
__attribute__((always_inline)) inline void lstm_forward_row(int64_t hs, const T* x, const T* w, const T* __restrict c0,
                                                            T* a, T* __restrict c, T* __restrict h) {
  TY_GATES4(x, const T, x, hs);
  TY_GATES4(w, const T, w, hs);
  TY_GATES4(a, T, a, hs);
#pragma GCC ivdep
  for (int64_t k = 0; k < hs; ++k) {
    const T i = fast_sigmoid(x0[k] + w0[k]), f = fast_sigmoid(x1[k] + w1[k]);
    const T g = fast_tanh(x2[k] + w2[k]), o = fast_sigmoid(x3[k] + w3[k]);
    a0[k] = i, a1[k] = f, a2[k] = g, a3[k] = o;
    const T cn = f * c0[k] + i * g;
    c[k] = cn;
    h[k] = o * fast_tanh(cn);
  }
}

template <typename T>
__attribute__((always_inline)) inline void lstm_backward_row(int64_t hs, const T* a, const T* __restrict c0,
                                                             const T* __restrict c, const T* __restrict dh,
                                                             T* __restrict dc, T* dg) {
  TY_GATES4(a, const T, a, hs);
  TY_GATES4(d, T, dg, hs);
#pragma GCC ivdep
  for (int64_t k = 0; k < hs; ++k) {
    const T i = a0[k], f = a1[k], g = a2[k], o = a3[k];
    const T tc = fast_tanh(c[k]);
    const T dct = dc[k] + dh[k] * o * (T(1) - tc * tc);
    d0[k] = dct * g * i * (T(1) - i);
    d1[k] = dct * c0[k] * f * (T(1) - f);
    d2[k] = dct * i * (T(1) - g * g);
    d3[k] = dh[k] * tc * o * (T(1) - o);
    dc[k] = dct * f;
  }
}

template <typename T>
__attribute__((always_inline)) inline void gru_forward_row(int64_t hs, const T* x, const T* w, const T* __restrict h0,
                                                           T* a, T* __restrict h) {
  TY_GATES4(x, const T, x, hs);  // (x3, w3: unused; the GRU has 3 gates)
  TY_GATES4(w, const T, w, hs);
  TY_GATES4(a, T, a, hs);
#pragma GCC ivdep
  for (int64_t k = 0; k < hs; ++k) {
    const T r = fast_sigmoid(x0[k] + w0[k]), z = fast_sigmoid(x1[k] + w1[k]);
    const T n = fast_tanh(x2[k] + r * w2[k]);
    a0[k] = r, a1[k] = z, a2[k] = n, a3[k] = w2[k];
    h[k] = (T(1) - z) * n + z * h0[k];
  }
  (void)x3, (void)w3;
}

template <typename T>
__attribute__((always_inline)) inline void gru_backward_row(int64_t hs, const T* a, const T* __restrict h0,
                                                            const T* __restrict dh, T* dx, T* dw, T* __restrict dp) {
  TY_GATES4(a, const T, a, hs);
  TY_GATES4(x, T, dx, hs);
  TY_GATES4(w, T, dw, hs);
#pragma GCC ivdep
  for (int64_t k = 0; k < hs; ++k) {
    const T r = a0[k], z = a1[k], n = a2[k], hn = a3[k];
    const T dn = dh[k] * (T(1) - z) * (T(1) - n * n);
    const T dz = dh[k] * (h0[k] - n) * z * (T(1) - z);
    const T dr = dn * hn * r * (T(1) - r);
    x0[k] = dr, x1[k] = dz, x2[k] = dn;
    w0[k] = dr, w1[k] = dz, w2[k] = dn * r;
    dp[k] = dh[k] * z;
  }
  (void)x3, (void)w3;
}

TY_HOT_CLONES void lstm_forward_f32(int64_t n, int64_t hs, const float* x, const float* w, const float* c0, float* a,
                                    float* c, float* h) {
  for (int64_t r = 0; r < n; ++r)
    lstm_forward_row(hs, x + r * 4 * hs, w + r * 4 * hs, c0 + r * hs, a + r * 4 * hs, c + r * hs, h + r * hs);
}

TY_HOT_CLONES void lstm_backward_f32(int64_t n, int64_t hs, const float* a, const float* c0, const float* c,
                                     const float* dh, float* dc, float* dg) {
  for (int64_t r = 0; r < n; ++r)
    lstm_backward_row(hs, a + r * 4 * hs, c0 + r * hs, c + r * hs, dh + r * hs, dc + r * hs, dg + r * 4 * hs);
}

TY_HOT_CLONES void gru_forward_f32(int64_t n, int64_t hs, const float* x, const float* w, const float* h0, float* a,
                                   float* h) {
  for (int64_t r = 0; r < n; ++r)
    gru_forward_row(hs, x + r * 3 * hs, w + r * 3 * hs, h0 + r * hs, a + r * 4 * hs, h + r * hs);
}

TY_HOT_CLONES void gru_backward_f32(int64_t n, int64_t hs, const float* a, const float* h0, const float* dh, float* dx,
                                    float* dw, float* dp) {
  for (int64_t r = 0; r < n; ++r)
    gru_backward_row(hs, a + r * 4 * hs, h0 + r * hs, dh + r * hs, dx + r * 3 * hs, dw + r * 3 * hs, dp + r * hs);
}

}  // namespace

void HostKernels::swap_axes01(const Tensor& src, Tensor& dst) {
  CHECK(src.ndim() >= 2) << "swap_axes01 of " << shape_str(src.shape());
  const int64_t a = src.dim(0), b = src.dim(1), d = src.numel() / std::max<int64_t>(a * b, 1);
  const size_t row = d * dtype_size(src.dtype());
  const char* S = static_cast<const char*>(src.raw());
  char* D = static_cast<char*>(dst.raw());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j) std::memcpy(D + (j * a + i) * row, S + (i * b + j) * row, row);
}

void HostKernels::lstm_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& c_prev, Tensor& act, Tensor& c,
                                    Tensor& h) {
  const int64_t n = c.dim(0), hs = c.dim(1);
  if (c.dtype() == DType::kF32)
    return lstm_forward_f32(n, hs, xw.data<float>(), hw.data<float>(), c_prev.data<float>(), act.data<float>(),
                            c.data<float>(), h.data<float>());
  for (int64_t r = 0; r < n; ++r)
    lstm_forward_row(hs, xw.data<double>() + r * 4 * hs, hw.data<double>() + r * 4 * hs, c_prev.data<double>() + r * hs,
                     act.data<double>() + r * 4 * hs, c.data<double>() + r * hs, h.data<double>() + r * hs);
}

void HostKernels::lstm_step_backward(const Tensor& act, const Tensor& c_prev, const Tensor& c, const Tensor& dh,
                                     Tensor& dc, Tensor& dgates) {
  const int64_t n = c.dim(0), hs = c.dim(1);
  if (c.dtype() == DType::kF32)
    return lstm_backward_f32(n, hs, act.data<float>(), c_prev.data<float>(), c.data<float>(), dh.data<float>(),
                             dc.data<float>(), dgates.data<float>());
  for (int64_t r = 0; r < n; ++r)
    lstm_backward_row(hs, act.data<double>() + r * 4 * hs, c_prev.data<double>() + r * hs, c.data<double>() + r * hs,
                      dh.data<double>() + r * hs, dc.data<double>() + r * hs, dgates.data<double>() + r * 4 * hs);
}

void HostKernels::gru_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& h_prev, Tensor& act, Tensor& h) {
  const int64_t n = h.dim(0), hs = h.dim(1);
  if (h.dtype() == DType::kF32)
    return gru_forward_f32(n, hs, xw.data<float>(), hw.data<float>(), h_prev.data<float>(), act.data<float>(),
                           h.data<float>());
  for (int64_t r = 0; r < n; ++r)
    gru_forward_row(hs, xw.data<double>() + r * 3 * hs, hw.data<double>() + r * 3 * hs, h_prev.data<double>() + r * hs,
                    act.data<double>() + r * 4 * hs, h.data<double>() + r * hs);
}

void HostKernels::gru_step_backward(const Tensor& act, const Tensor& h_prev, const Tensor& dh, Tensor& dxw, Tensor& dhw,
                                    Tensor& dh_prev) {
  const int64_t n = dh.dim(0), hs = dh.dim(1);
  if (dh.dtype() == DType::kF32)
    return gru_backward_f32(n, hs, act.data<float>(), h_prev.data<float>(), dh.data<float>(), dxw.data<float>(),
                            dhw.data<float>(), dh_prev.data<float>());
  for (int64_t r = 0; r < n; ++r)
    gru_backward_row(hs, act.data<double>() + r * 4 * hs, h_prev.data<double>() + r * hs, dh.data<double>() + r * hs,
                     dxw.data<double>() + r * 3 * hs, dhw.data<double>() + r * 3 * hs, dh_prev.data<double>() + r * hs);
}

}  // namespace ty
