// Fused SGD and Adam/AdamW updates: p, g, buf/m/v: n elements, updated in place with the
// per-element code the CPU optimizers run (runtime/optim/update_math.h).
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__global__ void sgd_kernel(float* p, const float* g, float* buf, int64_t n, SgdStep s) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    sgd_element(p[i], g[i], buf ? buf + i : nullptr, s);
}

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamStep s) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    adam_element(p[i], g[i], m[i], v[i], s);
}

}  // namespace

void sgd_update(cudaStream_t s, float* p, const float* g, float* buf, int64_t n, const SgdStep& step) {
  if (n == 0) return;
  sgd_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, g, step.use_buf ? buf : nullptr, n, step);
  check_launch("sgd_update");
}

void adam_update(cudaStream_t s, float* p, const float* g, float* m, float* v, int64_t n, const AdamStep& step) {
  if (n == 0) return;
  adam_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, g, m, v, n, step);
  check_launch("adam_update");
}

}  // namespace ty::cuda
