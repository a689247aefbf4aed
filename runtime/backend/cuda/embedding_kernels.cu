// Embedding kernels: table rows gathered by token id, and their gradients added back (with
// atomics: ids repeat). CPU references: backend/host_embedding_kernels.cc.
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__global__ void gather_rows_kernel(const float* table, const int32_t* ids, float* out, int64_t n, int64_t d) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * d; k += int64_t{gridDim.x} * blockDim.x)
    out[k] = table[static_cast<int64_t>(ids[k / d]) * d + k % d];
}

__global__ void scatter_add_rows_kernel(const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t d) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * d; k += int64_t{gridDim.x} * blockDim.x)
    atomicAdd(dtable + static_cast<int64_t>(ids[k / d]) * d + k % d, dout[k]);
}

}  // namespace

void gather_rows(cudaStream_t s, const float* table, const int32_t* ids, float* out, int64_t n, int64_t d) {
  if (n * d == 0) return;
  gather_rows_kernel<<<blocks_for(n * d), kThreads, 0, s>>>(table, ids, out, n, d);
  check_launch("gather_rows");
}

void scatter_add_rows(cudaStream_t s, const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t d) {
  if (n * d == 0) return;
  scatter_add_rows_kernel<<<blocks_for(n * d), kThreads, 0, s>>>(dout, ids, dtable, n, d);
  check_launch("scatter_add_rows");
}

}  // namespace ty::cuda
