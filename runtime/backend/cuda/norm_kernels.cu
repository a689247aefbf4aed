// Batch norm and layer norm, forward and backward, with the reference backend's semantics
// (biased variance; batch norm's mean/var written in training, read otherwise).
//   batch norm: x, y, dy, dx viewed as (N, C, S); gamma, beta, mean, var, dgamma, dbeta: (C)
//   layer norm: x, y, dy, dx viewed as (rows, cols); gamma, beta, dgamma, dbeta: (cols);
//               mean, var: (rows)
// One block per channel (batch norm) or row (layer norm) reduces in shared memory; layer
// norm's dgamma/dbeta sum over rows with one thread per column.
#include "runtime/backend/cuda/block_reduce.cuh"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__device__ inline int64_t ncs(int64_t i, int64_t ch, int64_t j, int64_t c, int64_t s) { return (i * c + ch) * s + j; }

__global__ void bn_forward_kernel(const float* x, const float* gamma, const float* beta, float eps, bool training,
                                  float* mean, float* var, float* y, int64_t n, int64_t c, int64_t s) {
  __shared__ float shared[32];
  const int64_t ch = blockIdx.x, count = n * s;
  if (training) {
    float sum = 0.f;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) sum += x[ncs(k / s, ch, k % s, c, s)];
    const float mu = block_sum(sum, shared) / count;
    float sq = 0.f;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      const float d = x[ncs(k / s, ch, k % s, c, s)] - mu;
      sq += d * d;
    }
    sq = block_sum(sq, shared);
    if (threadIdx.x == 0) {
      mean[ch] = mu;
      var[ch] = sq / count;
    }
    __syncthreads();
  }
  const float mu = mean[ch], rstd = rsqrtf(var[ch] + eps), g = gamma[ch], b = beta[ch];
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t o = ncs(k / s, ch, k % s, c, s);
    y[o] = (x[o] - mu) * rstd * g + b;
  }
}

__global__ void bn_backward_kernel(const float* x, const float* dy, const float* gamma, const float* mean,
                                   const float* var, float eps, bool training, float* dx, float* dgamma, float* dbeta,
                                   int64_t n, int64_t c, int64_t s) {
  __shared__ float shared[32];
  const int64_t ch = blockIdx.x, count = n * s;
  const float mu = mean[ch], rstd = rsqrtf(var[ch] + eps), g = gamma[ch];
  float sdy = 0.f, sdyx = 0.f;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t o = ncs(k / s, ch, k % s, c, s);
    sdy += dy[o];
    sdyx += dy[o] * (x[o] - mu) * rstd;
  }
  sdy = block_sum(sdy, shared);
  sdyx = block_sum(sdyx, shared);
  if (threadIdx.x == 0) {
    dgamma[ch] = sdyx;
    dbeta[ch] = sdy;
  }
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t o = ncs(k / s, ch, k % s, c, s);
    const float xhat = (x[o] - mu) * rstd;
    dx[o] = training ? g * rstd * (dy[o] - sdy / count - xhat * sdyx / count) : g * rstd * dy[o];
  }
}

__global__ void ln_forward_kernel(const float* x, const float* gamma, const float* beta, float eps, float* y,
                                  float* mean, float* var, int64_t cols) {
  __shared__ float shared[32];
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += xr[j];
  const float mu = block_sum(sum, shared) / cols;
  float sq = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sq += (xr[j] - mu) * (xr[j] - mu);
  const float v = block_sum(sq, shared) / cols;
  if (threadIdx.x == 0) {
    mean[blockIdx.x] = mu;
    var[blockIdx.x] = v;
  }
  const float rstd = rsqrtf(v + eps);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = (xr[j] - mu) * rstd * gamma[j] + beta[j];
}

__global__ void ln_backward_dx_kernel(const float* x, const float* dy, const float* gamma, const float* mean,
                                      const float* var, float eps, float* dx, int64_t cols) {
  __shared__ float shared[32];
  const int64_t base = blockIdx.x * cols;
  const float mu = mean[blockIdx.x], rstd = rsqrtf(var[blockIdx.x] + eps);
  float mg = 0.f, mgx = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float g = dy[base + j] * gamma[j];
    mg += g;
    mgx += g * (x[base + j] - mu) * rstd;
  }
  mg = block_sum(mg, shared) / cols;
  mgx = block_sum(mgx, shared) / cols;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float xhat = (x[base + j] - mu) * rstd;
    dx[base + j] = rstd * (dy[base + j] * gamma[j] - mg - xhat * mgx);
  }
}

// dgamma[j] = sum over rows of dy * xhat, dbeta[j] = sum of dy: one thread per column.
__global__ void ln_backward_params_kernel(const float* x, const float* dy, const float* mean, const float* var,
                                          float eps, float* dgamma, float* dbeta, int64_t rows, int64_t cols) {
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < cols; j += int64_t{gridDim.x} * blockDim.x) {
    float dg = 0.f, db = 0.f;
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t o = i * cols + j;
      dg += dy[o] * (x[o] - mean[i]) * rsqrtf(var[i] + eps);
      db += dy[o];
    }
    dgamma[j] = dg;
    dbeta[j] = db;
  }
}

}  // namespace

void batchnorm_forward(cudaStream_t st, const float* x, const float* gamma, const float* beta, float eps, bool training,
                       float* mean, float* var, float* y, int64_t n, int64_t c, int64_t s) {
  if (n * c * s == 0) return;
  bn_forward_kernel<<<static_cast<unsigned>(c), kThreads, 0, st>>>(x, gamma, beta, eps, training, mean, var, y, n, c,
                                                                   s);
  check_launch("batchnorm_forward");
}

void batchnorm_backward(cudaStream_t st, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* var, float eps, bool training, float* dx, float* dgamma, float* dbeta, int64_t n,
                        int64_t c, int64_t s) {
  if (n * c * s == 0) return;
  bn_backward_kernel<<<static_cast<unsigned>(c), kThreads, 0, st>>>(x, dy, gamma, mean, var, eps, training, dx, dgamma,
                                                                    dbeta, n, c, s);
  check_launch("batchnorm_backward");
}

void layernorm_forward(cudaStream_t st, const float* x, const float* gamma, const float* beta, float eps, float* y,
                       float* mean, float* var, int64_t rows, int64_t cols) {
  if (rows * cols == 0) return;
  ln_forward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, st>>>(x, gamma, beta, eps, y, mean, var, cols);
  check_launch("layernorm_forward");
}

void layernorm_backward(cudaStream_t st, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* var, float eps, float* dx, float* dgamma, float* dbeta, int64_t rows,
                        int64_t cols) {
  if (rows * cols == 0) return;
  ln_backward_dx_kernel<<<static_cast<unsigned>(rows), kThreads, 0, st>>>(x, dy, gamma, mean, var, eps, dx, cols);
  check_launch("layernorm_backward (dx)");
  ln_backward_params_kernel<<<blocks_for(cols), kThreads, 0, st>>>(x, dy, mean, var, eps, dgamma, dbeta, rows, cols);
  check_launch("layernorm_backward (dgamma, dbeta)");
}

}  // namespace ty::cuda
