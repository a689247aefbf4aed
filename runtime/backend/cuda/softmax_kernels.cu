// Softmax / log-softmax over rows: x, y, dy, dx: (rows, cols). One block per row; the
// block reduces the row's max and sum in shared memory.
#include "runtime/backend/cuda/block_reduce.cuh"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__global__ void softmax_forward_kernel(bool log, const float* x, float* y, int64_t cols) {
  __shared__ float shared[32];
  const float* xr = x + blockIdx.x * cols;
  float* yr = y + blockIdx.x * cols;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xr[j]);
  m = block_reduce<true>(m, shared);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(xr[j] - m);
  sum = block_reduce<false>(sum, shared);
  const float log_sum = logf(sum);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = log ? xr[j] - m - log_sum : expf(xr[j] - m) / sum;
}

// softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy).
__global__ void softmax_backward_kernel(bool log, const float* y, const float* dy, float* dx, int64_t cols) {
  __shared__ float shared[32];
  const int64_t base = blockIdx.x * cols;
  float dot = 0.f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dot += log ? dy[base + j] : dy[base + j] * y[base + j];
  dot = block_reduce<false>(dot, shared);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    dx[base + j] = log ? dy[base + j] - expf(y[base + j]) * dot : y[base + j] * (dy[base + j] - dot);
}

}  // namespace

void softmax_forward(cudaStream_t s, bool log, const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  softmax_forward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(log, x, y, cols);
  check_launch("softmax_forward");
}

void softmax_backward(cudaStream_t s, bool log, const float* y, const float* dy, float* dx, int64_t rows,
                      int64_t cols) {
  if (rows == 0 || cols == 0) return;
  softmax_backward_kernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(log, y, dy, dx, cols);
  check_launch("softmax_backward");
}

}  // namespace ty::cuda
