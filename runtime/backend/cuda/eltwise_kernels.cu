// Elementwise activations, dropout and bias rows. x, y, dy, dx: n elements (any shape).
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"
#include "runtime/philox_math.h"

namespace ty::cuda {
namespace {

__device__ float forward_of(Eltwise kind, float alpha, float x) {
  switch (kind) {
    case Eltwise::kRelu: return x > 0.f ? x : 0.f;
    case Eltwise::kLeakyRelu: return x > 0.f ? x : alpha * x;
    case Eltwise::kGelu: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case Eltwise::kTanh: return tanhf(x);
    case Eltwise::kSigmoid: return 1.f / (1.f + expf(-x));
  }
  return x;
}

__device__ float derivative_of(Eltwise kind, float alpha, float x) {
  switch (kind) {
    case Eltwise::kRelu: return x > 0.f ? 1.f : 0.f;
    case Eltwise::kLeakyRelu: return x > 0.f ? 1.f : alpha;
    case Eltwise::kGelu: {
      const float cdf = 0.5f * (1.f + erff(x * 0.70710678118654752f));
      const float pdf = expf(-0.5f * x * x) * 0.3989422804014327f;
      return cdf + x * pdf;
    }
    case Eltwise::kTanh: {
      const float t = tanhf(x);
      return 1.f - t * t;
    }
    case Eltwise::kSigmoid: {
      const float s = 1.f / (1.f + expf(-x));
      return s * (1.f - s);
    }
  }
  return 1.f;
}

__global__ void eltwise_forward_kernel(Eltwise kind, float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    y[i] = forward_of(kind, alpha, x[i]);
}

__global__ void eltwise_backward_kernel(Eltwise kind, float alpha, const float* x, const float* dy, float* dx,
                                        int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    dx[i] = derivative_of(kind, alpha, x[i]) * dy[i];
}

// One thread per group of four numbers: one Philox block.
__global__ void dropout_kernel(const float* x, float* y, float* mask, int64_t n, float p, float scale, uint64_t seed,
                               uint64_t stream, uint64_t first) {
  for (int64_t b = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) * 4; b < n;
       b += int64_t{gridDim.x} * blockDim.x * 4) {
    uint32_t r[4];
    philox4x32_10((first + b) / 4, stream, seed, r);
    for (int j = 0; j < 4 && b + j < n; ++j) {
      const float m = philox_unit_float(r[j]) >= p ? scale : 0.f;
      mask[b + j] = m;
      y[b + j] = x[b + j] * m;
    }
  }
}

__global__ void add_bias_kernel(float* c, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < rows * cols; i += int64_t{gridDim.x} * blockDim.x)
    c[i] += bias[i % cols];
}

}  // namespace

void add_bias_rows(cudaStream_t s, float* c, const float* bias, int64_t rows, int64_t cols) {
  if (rows * cols == 0) return;
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(c, bias, rows, cols);
  check_launch("add_bias_rows");
}

void eltwise_forward(cudaStream_t s, Eltwise kind, float alpha, const float* x, float* y, int64_t n) {
  if (n == 0) return;
  eltwise_forward_kernel<<<blocks_for(n), kThreads, 0, s>>>(kind, alpha, x, y, n);
  check_launch("eltwise_forward");
}

void eltwise_backward(cudaStream_t s, Eltwise kind, float alpha, const float* x, const float* dy, float* dx,
                      int64_t n) {
  if (n == 0) return;
  eltwise_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(kind, alpha, x, dy, dx, n);
  check_launch("eltwise_backward");
}

void dropout_forward(cudaStream_t s, const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  if (n == 0) return;
  dropout_kernel<<<blocks_for((n + 3) / 4), kThreads, 0, s>>>(x, y, mask, n, p, 1.f / (1.f - p), seed, stream, first);
  check_launch("dropout_forward");
}

}  // namespace ty::cuda
