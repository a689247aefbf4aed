// HostKernels' recurrent family: one LSTM or GRU time step's gate arithmetic, and the axis
// swap, as loops over host memory.
#include <cmath>
#include <cstring>

#include "runtime/backend/host_kernels.h"

namespace ty {
namespace {

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
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
  TY_DISPATCH_FLOAT(c.dtype(), T, {
    const T *X = xw.data<T>(), *W = hw.data<T>(), *C0 = c_prev.data<T>();
    T *A = act.data<T>(), *C = c.data<T>(), *Hh = h.data<T>();
    for (int64_t r = 0; r < n; ++r) {
      const T *x = X + r * 4 * hs, *w = W + r * 4 * hs;
      T* a = A + r * 4 * hs;
      for (int64_t k = 0; k < hs; ++k) {
        const T i = sigmoid(x[k] + w[k]), f = sigmoid(x[hs + k] + w[hs + k]);
        const T g = std::tanh(x[2 * hs + k] + w[2 * hs + k]), o = sigmoid(x[3 * hs + k] + w[3 * hs + k]);
        a[k] = i, a[hs + k] = f, a[2 * hs + k] = g, a[3 * hs + k] = o;
        const T cn = f * C0[r * hs + k] + i * g;
        C[r * hs + k] = cn;
        Hh[r * hs + k] = o * std::tanh(cn);
      }
    }
  });
}

void HostKernels::lstm_step_backward(const Tensor& act, const Tensor& c_prev, const Tensor& c, const Tensor& dh,
                                     Tensor& dc, Tensor& dgates) {
  const int64_t n = c.dim(0), hs = c.dim(1);
  TY_DISPATCH_FLOAT(c.dtype(), T, {
    const T *A = act.data<T>(), *C0 = c_prev.data<T>(), *C = c.data<T>(), *DH = dh.data<T>();
    T *DC = dc.data<T>(), *DG = dgates.data<T>();
    for (int64_t r = 0; r < n; ++r) {
      const T* a = A + r * 4 * hs;
      T* dg = DG + r * 4 * hs;
      for (int64_t k = 0; k < hs; ++k) {
        const int64_t e = r * hs + k;
        const T i = a[k], f = a[hs + k], g = a[2 * hs + k], o = a[3 * hs + k];
        const T tc = std::tanh(C[e]);
        const T dct = DC[e] + DH[e] * o * (T(1) - tc * tc);
        dg[k] = dct * g * i * (T(1) - i);
        dg[hs + k] = dct * C0[e] * f * (T(1) - f);
        dg[2 * hs + k] = dct * i * (T(1) - g * g);
        dg[3 * hs + k] = DH[e] * tc * o * (T(1) - o);
        DC[e] = dct * f;
      }
    }
  });
}

void HostKernels::gru_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& h_prev, Tensor& act,
                                   Tensor& h) {
  const int64_t n = h.dim(0), hs = h.dim(1);
  TY_DISPATCH_FLOAT(h.dtype(), T, {
    const T *X = xw.data<T>(), *W = hw.data<T>(), *H0 = h_prev.data<T>();
    T *A = act.data<T>(), *Hh = h.data<T>();
    for (int64_t r = 0; r < n; ++r) {
      const T *x = X + r * 3 * hs, *w = W + r * 3 * hs;
      T* a = A + r * 4 * hs;
      for (int64_t k = 0; k < hs; ++k) {
        const T rg = sigmoid(x[k] + w[k]), z = sigmoid(x[hs + k] + w[hs + k]);
        const T nn = std::tanh(x[2 * hs + k] + rg * w[2 * hs + k]);
        a[k] = rg, a[hs + k] = z, a[2 * hs + k] = nn, a[3 * hs + k] = w[2 * hs + k];
        Hh[r * hs + k] = (T(1) - z) * nn + z * H0[r * hs + k];
      }
    }
  });
}

void HostKernels::gru_step_backward(const Tensor& act, const Tensor& h_prev, const Tensor& dh, Tensor& dxw,
                                    Tensor& dhw, Tensor& dh_prev) {
  const int64_t n = dh.dim(0), hs = dh.dim(1);
  TY_DISPATCH_FLOAT(dh.dtype(), T, {
    const T *A = act.data<T>(), *H0 = h_prev.data<T>(), *DH = dh.data<T>();
    T *DX = dxw.data<T>(), *DW = dhw.data<T>(), *DP = dh_prev.data<T>();
    for (int64_t r = 0; r < n; ++r) {
      const T* a = A + r * 4 * hs;
      T *dx = DX + r * 3 * hs, *dw = DW + r * 3 * hs;
      for (int64_t k = 0; k < hs; ++k) {
        const int64_t e = r * hs + k;
        const T rg = a[k], z = a[hs + k], nn = a[2 * hs + k], hn = a[3 * hs + k];
        const T dn = DH[e] * (T(1) - z) * (T(1) - nn * nn);
        const T dz = DH[e] * (H0[e] - nn) * z * (T(1) - z);
        const T dr = dn * hn * rg * (T(1) - rg);
        dx[k] = dr, dx[hs + k] = dz, dx[2 * hs + k] = dn;
        dw[k] = dr, dw[hs + k] = dz, dw[2 * hs + k] = dn * rg;
        DP[e] = DH[e] * z;
      }
    }
  });
}

}  // namespace ty
