// Launch shapes shared by the elementwise CUDA kernels: 256 threads a block, enough blocks
// to cover n elements (capped; the kernels loop grid-stride over the rest).
#pragma once

#include <cstdint>

namespace ty::cuda {

constexpr int kThreads = 256;

// Kernels may index with 32-bit integers (64-bit division is slow on the GPU) below this
// many elements: their grid-stride loops then cannot overflow.
constexpr int64_t kMax32 = (int64_t{1} << 30) - 1;

inline int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 65535 * 16 ? b : 65535 * 16);
}

}  // namespace ty::cuda
