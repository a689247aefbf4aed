// Launch shapes shared by the elementwise CUDA kernels: 256 threads a block, enough blocks
// to cover n elements (capped; the kernels loop grid-stride over the rest).
#pragma once

#include <cstdint>

namespace ty::cuda {

constexpr int kThreads = 256;

inline int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 65535 * 16 ? b : 65535 * 16);
}

}  // namespace ty::cuda
