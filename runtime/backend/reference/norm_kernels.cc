// Reference batch norm and layer norm.
#include <cmath>

#include "runtime/backend/reference/reference_backend.h"

namespace ty {
namespace {

// x viewed as (N, C, S) for batch norm.
struct NCS {
  int64_t n, c, s;
  explicit NCS(const Tensor& x)
      : n(x.dim(0)), c(x.ndim() > 1 ? x.dim(1) : 1), s(x.numel() / std::max<int64_t>(n * c, 1)) {}
  int64_t at(int64_t i, int64_t ch, int64_t j) const { return (i * c + ch) * s + j; }
};

template <class T>
void bn_fwd(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training, Tensor& mean,
            Tensor& var, Tensor& y) {
  NCS d(x);
  const T *X = x.data<T>(), *G = gamma.data<T>(), *B = beta.data<T>();
  T *M = mean.data<T>(), *V = var.data<T>(), *Y = y.data<T>();
  const T count = T(d.n * d.s);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    if (training) {
      T sum = 0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t j = 0; j < d.s; ++j) sum += X[d.at(i, ch, j)];
      T mu = sum / count, sq = 0;
      for (int64_t i = 0; i < d.n; ++i)
        for (int64_t j = 0; j < d.s; ++j) {
          T dv = X[d.at(i, ch, j)] - mu;
          sq += dv * dv;
        }
      M[ch] = mu;
      V[ch] = sq / count;
    }
    T rstd = T(1) / std::sqrt(V[ch] + T(eps));
    for (int64_t i = 0; i < d.n; ++i)
      for (int64_t j = 0; j < d.s; ++j) {
        int64_t o = d.at(i, ch, j);
        Y[o] = (X[o] - M[ch]) * rstd * G[ch] + B[ch];
      }
  }
}

template <class T>
void bn_bwd(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var, float eps,
            bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  NCS d(x);
  const T *X = x.data<T>(), *DY = dy.data<T>(), *G = gamma.data<T>(), *M = mean.data<T>(), *V = var.data<T>();
  T *DX = dx.data<T>(), *DG = dgamma.data<T>(), *DB = dbeta.data<T>();
  const T count = T(d.n * d.s);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    T rstd = T(1) / std::sqrt(V[ch] + T(eps));
    T sdy = 0, sdyx = 0;
    for (int64_t i = 0; i < d.n; ++i)
      for (int64_t j = 0; j < d.s; ++j) {
        int64_t o = d.at(i, ch, j);
        sdy += DY[o];
        sdyx += DY[o] * (X[o] - M[ch]) * rstd;
      }
    DG[ch] = sdyx;
    DB[ch] = sdy;
    for (int64_t i = 0; i < d.n; ++i)
      for (int64_t j = 0; j < d.s; ++j) {
        int64_t o = d.at(i, ch, j);
        T xhat = (X[o] - M[ch]) * rstd;
        DX[o] = training ? G[ch] * rstd * (DY[o] - sdy / count - xhat * sdyx / count) : G[ch] * rstd * DY[o];
      }
  }
}

template <class T>
void ln_fwd(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean, Tensor& var) {
  const int64_t cols = x.dim(-1), rows = x.numel() / std::max<int64_t>(cols, 1);
  const T *X = x.data<T>(), *G = gamma.data<T>(), *B = beta.data<T>();
  T *Y = y.data<T>(), *M = mean.data<T>(), *V = var.data<T>();
  for (int64_t i = 0; i < rows; ++i) {
    const T* xr = X + i * cols;
    T mu = 0, sq = 0;
    for (int64_t j = 0; j < cols; ++j) mu += xr[j];
    mu /= T(cols);
    for (int64_t j = 0; j < cols; ++j) sq += (xr[j] - mu) * (xr[j] - mu);
    M[i] = mu;
    V[i] = sq / T(cols);
    T rstd = T(1) / std::sqrt(V[i] + T(eps));
    for (int64_t j = 0; j < cols; ++j) Y[i * cols + j] = (xr[j] - mu) * rstd * G[j] + B[j];
  }
}

template <class T>
void ln_bwd(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var, float eps,
            Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const int64_t cols = x.dim(-1), rows = x.numel() / std::max<int64_t>(cols, 1);
  const T *X = x.data<T>(), *DY = dy.data<T>(), *G = gamma.data<T>(), *M = mean.data<T>(), *V = var.data<T>();
  T *DX = dx.data<T>(), *DG = dgamma.data<T>(), *DB = dbeta.data<T>();
  for (int64_t j = 0; j < cols; ++j) DG[j] = DB[j] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    T rstd = T(1) / std::sqrt(V[i] + T(eps));
    T mg = 0, mgx = 0;
    for (int64_t j = 0; j < cols; ++j) {
      int64_t o = i * cols + j;
      T xhat = (X[o] - M[i]) * rstd;
      T g = DY[o] * G[j];
      mg += g;
      mgx += g * xhat;
      DG[j] += DY[o] * xhat;
      DB[j] += DY[o];
    }
    mg /= T(cols);
    mgx /= T(cols);
    for (int64_t j = 0; j < cols; ++j) {
      int64_t o = i * cols + j;
      T xhat = (X[o] - M[i]) * rstd;
      DX[o] = rstd * (DY[o] * G[j] - mg - xhat * mgx);
    }
  }
}

}  // namespace

void ReferenceBackend::batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                                         bool training, Tensor& mean, Tensor& var, Tensor& y) {
  TY_DISPATCH_FLOAT(x.dtype(), T, bn_fwd<T>(x, gamma, beta, eps, training, mean, var, y););
}

void ReferenceBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma,
                                          Tensor& dbeta) {
  TY_DISPATCH_FLOAT(x.dtype(), T, bn_bwd<T>(x, dy, gamma, mean, var, eps, training, dx, dgamma, dbeta););
}

void ReferenceBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y,
                                         Tensor& mean, Tensor& var) {
  TY_DISPATCH_FLOAT(x.dtype(), T, ln_fwd<T>(x, gamma, beta, eps, y, mean, var););
}

void ReferenceBackend::layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  TY_DISPATCH_FLOAT(x.dtype(), T, ln_bwd<T>(x, dy, gamma, mean, var, eps, dx, dgamma, dbeta););
}

}  // namespace ty
