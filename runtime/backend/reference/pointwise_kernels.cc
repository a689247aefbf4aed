// Reference pooling, activations and softmax.
#include <cmath>
#include <limits>

#include "runtime/backend/reference/reference_backend.h"

namespace ty {
namespace {

template <class T>
void pool_fwd(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* ws) {
  const T* X = x.data<T>();
  T* Y = y.data<T>();
  int32_t* arg = g.max ? ws->data<int32_t>() : nullptr;
  for (int64_t nc = 0; nc < g.n * g.c; ++nc) {
    const T* plane = X + nc * g.h * g.w;
    for (int64_t p = 0; p < g.p; ++p)
      for (int64_t q = 0; q < g.q; ++q) {
        T best = -std::numeric_limits<T>::infinity(), sum = 0;
        int32_t best_i = -1;
        int64_t count = 0;
        for (int64_t r = 0; r < g.kh; ++r) {
          int64_t ih = p * g.stride_h - g.pad_h + r;
          if (ih < 0 || ih >= g.h) continue;
          for (int64_t s = 0; s < g.kw; ++s) {
            int64_t iw = q * g.stride_w - g.pad_w + s;
            if (iw < 0 || iw >= g.w) continue;
            T v = plane[ih * g.w + iw];
            if (best_i < 0 || v > best) {
              best = v;
              best_i = static_cast<int32_t>(ih * g.w + iw);
            }
            sum += v;
            ++count;
          }
        }
        int64_t o = (nc * g.p + p) * g.q + q;
        if (g.max) {
          Y[o] = best_i < 0 ? T(0) : best;
          arg[o] = best_i;
        } else {
          Y[o] = count ? sum / T(count) : T(0);
        }
      }
  }
}

template <class T>
void pool_bwd(const PoolGeom& g, const Tensor& dy, const Tensor& ws, Tensor& dx) {
  const T* DY = dy.data<T>();
  T* DX = dx.data<T>();
  for (int64_t i = 0; i < dx.numel(); ++i) DX[i] = 0;
  const int32_t* arg = g.max ? ws.data<int32_t>() : nullptr;
  for (int64_t nc = 0; nc < g.n * g.c; ++nc) {
    T* plane = DX + nc * g.h * g.w;
    for (int64_t p = 0; p < g.p; ++p)
      for (int64_t q = 0; q < g.q; ++q) {
        int64_t o = (nc * g.p + p) * g.q + q;
        if (g.max) {
          if (arg[o] >= 0) plane[arg[o]] += DY[o];
          continue;
        }
        int64_t h0 = std::max<int64_t>(p * g.stride_h - g.pad_h, 0);
        int64_t h1 = std::min<int64_t>(p * g.stride_h - g.pad_h + g.kh, g.h);
        int64_t w0 = std::max<int64_t>(q * g.stride_w - g.pad_w, 0);
        int64_t w1 = std::min<int64_t>(q * g.stride_w - g.pad_w + g.kw, g.w);
        int64_t count = (h1 - h0) * (w1 - w0);
        if (count <= 0) continue;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) plane[ih * g.w + iw] += DY[o] / T(count);
      }
  }
}

template <class T>
T act(Eltwise kind, T alpha, T x) {
  switch (kind) {
    case Eltwise::kRelu: return x > 0 ? x : T(0);
    case Eltwise::kLeakyRelu: return x > 0 ? x : alpha * x;
    case Eltwise::kGelu: return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
    case Eltwise::kTanh: return std::tanh(x);
    case Eltwise::kSigmoid: return T(1) / (T(1) + std::exp(-x));
  }
  return x;
}

template <class T>
T act_grad(Eltwise kind, T alpha, T x) {
  switch (kind) {
    case Eltwise::kRelu: return x > 0 ? T(1) : T(0);
    case Eltwise::kLeakyRelu: return x > 0 ? T(1) : alpha;
    case Eltwise::kGelu: {
      T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
      T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);
      return cdf + x * pdf;
    }
    case Eltwise::kTanh: {
      T t = std::tanh(x);
      return T(1) - t * t;
    }
    case Eltwise::kSigmoid: {
      T s = T(1) / (T(1) + std::exp(-x));
      return s * (T(1) - s);
    }
  }
  return T(1);
}

template <class T>
void softmax_fwd(bool log, const Tensor& x, Tensor& y) {
  const int64_t cols = x.dim(-1), rows = x.numel() / std::max<int64_t>(cols, 1);
  const T* X = x.data<T>();
  T* Y = y.data<T>();
  for (int64_t i = 0; i < rows; ++i) {
    const T* xr = X + i * cols;
    T* yr = Y + i * cols;
    T mx = -std::numeric_limits<T>::infinity();
    for (int64_t j = 0; j < cols; ++j) mx = std::max(mx, xr[j]);
    T sum = 0;
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(xr[j] - mx);
    T lse = std::log(sum);
    for (int64_t j = 0; j < cols; ++j) yr[j] = log ? xr[j] - mx - lse : std::exp(xr[j] - mx) / sum;
  }
}

template <class T>
void softmax_bwd(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) {
  const int64_t cols = y.dim(-1), rows = y.numel() / std::max<int64_t>(cols, 1);
  const T *Y = y.data<T>(), *DY = dy.data<T>();
  T* DX = dx.data<T>();
  for (int64_t i = 0; i < rows; ++i) {
    const T *yr = Y + i * cols, *dyr = DY + i * cols;
    T* dxr = DX + i * cols;
    T s = 0;
    for (int64_t j = 0; j < cols; ++j) s += log ? dyr[j] : dyr[j] * yr[j];
    for (int64_t j = 0; j < cols; ++j) dxr[j] = log ? dyr[j] - std::exp(yr[j]) * s : yr[j] * (dyr[j] - s);
  }
}

}  // namespace

void ReferenceBackend::pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) {
  if (g.max) *workspace = Tensor::empty(x.allocator(), y.shape(), DType::kI32);
  TY_DISPATCH_FLOAT(x.dtype(), T, pool_fwd<T>(g, x, y, workspace););
}

void ReferenceBackend::pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& ws, Tensor& dx) {
  TY_DISPATCH_FLOAT(dy.dtype(), T, pool_bwd<T>(g, dy, ws, dx););
}

void ReferenceBackend::eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* X = x.data<T>();
    T* Y = y.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) Y[i] = act<T>(kind, alpha, X[i]);
  });
}

void ReferenceBackend::eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) {
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T *X = x.data<T>(), *DY = dy.data<T>();
    T* DX = dx.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) DX[i] = DY[i] * act_grad<T>(kind, alpha, X[i]);
  });
}

void ReferenceBackend::softmax_forward(bool log, const Tensor& x, Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, softmax_fwd<T>(log, x, y););
}

void ReferenceBackend::softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) {
  TY_DISPATCH_FLOAT(y.dtype(), T, softmax_bwd<T>(log, y, dy, dx););
}

}  // namespace ty
