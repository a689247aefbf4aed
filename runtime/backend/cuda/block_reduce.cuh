// Block-wide reductions shared by the CUDA kernels (blockDim.x a multiple of 32, at most
// 1024): every thread gets the result.
#pragma once

#include <cfloat>

namespace ty::cuda {

template <bool kMax>
__device__ inline float block_reduce(float v, float* shared /* 32 floats */) {
  for (int o = 16; o > 0; o /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, other) : v + other;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / 32) ? shared[lane] : (kMax ? -FLT_MAX : 0.f);
    for (int o = 16; o > 0; o /= 2) {
      const float other = __shfl_xor_sync(0xffffffffu, v, o);
      v = kMax ? fmaxf(v, other) : v + other;
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  v = shared[0];
  __syncthreads();
  return v;
}

__device__ inline float block_sum(float v, float* shared) { return block_reduce<false>(v, shared); }

}  // namespace ty::cuda
