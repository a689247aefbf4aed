// Elementwise activations, dropout and bias rows. x, y, dy, dx: n elements (any shape).
#include <cstdint>
#include <type_traits>

#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"
#include "runtime/philox_math.h"

namespace ty::cuda {
namespace {

__device__ __forceinline__ float forward_of(Eltwise kind, float alpha, float x) {
  switch (kind) {
    case Eltwise::kRelu: return x > 0.f ? x : 0.f;
    case Eltwise::kLeakyRelu: return x > 0.f ? x : alpha * x;
    case Eltwise::kGelu: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case Eltwise::kTanh: return tanhf(x);
    case Eltwise::kSigmoid: return 1.f / (1.f + expf(-x));
  }
  return x;
}

__device__ __forceinline__ float derivative_of(Eltwise kind, float alpha, float x) {
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

// The activation is a template argument (its switch folds away) and indices are 32-bit
// where n allows; four elements a thread (16-byte loads) when the pointers are aligned.
template <Eltwise K, class I>
__global__ void eltwise_forward_kernel(float alpha, const float* x, float* y, I n) {
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += static_cast<I>(gridDim.x * blockDim.x))
    y[i] = forward_of(K, alpha, x[i]);
}

template <Eltwise K, class I>
__global__ void eltwise_forward4_kernel(float alpha, const float4* x, float4* y, I n4) {
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < n4;
       i += static_cast<I>(gridDim.x * blockDim.x)) {
    const float4 v = x[i];
    y[i] = make_float4(forward_of(K, alpha, v.x), forward_of(K, alpha, v.y), forward_of(K, alpha, v.z),
                       forward_of(K, alpha, v.w));
  }
}

template <Eltwise K, class I>
__global__ void eltwise_backward_kernel(float alpha, const float* x, const float* dy, float* dx, I n) {
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < n; i += static_cast<I>(gridDim.x * blockDim.x))
    dx[i] = derivative_of(K, alpha, x[i]) * dy[i];
}

template <Eltwise K, class I>
__global__ void eltwise_backward4_kernel(float alpha, const float4* x, const float4* dy, float4* dx, I n4) {
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < n4;
       i += static_cast<I>(gridDim.x * blockDim.x)) {
    const float4 v = x[i], g = dy[i];
    dx[i] = make_float4(derivative_of(K, alpha, v.x) * g.x, derivative_of(K, alpha, v.y) * g.y,
                        derivative_of(K, alpha, v.z) * g.z, derivative_of(K, alpha, v.w) * g.w);
  }
}

// Calls f(std::integral_constant<Eltwise, kind>{}).
template <class F>
void with_kind(Eltwise kind, F f) {
  switch (kind) {
    case Eltwise::kRelu: return f(std::integral_constant<Eltwise, Eltwise::kRelu>{});
    case Eltwise::kLeakyRelu: return f(std::integral_constant<Eltwise, Eltwise::kLeakyRelu>{});
    case Eltwise::kGelu: return f(std::integral_constant<Eltwise, Eltwise::kGelu>{});
    case Eltwise::kTanh: return f(std::integral_constant<Eltwise, Eltwise::kTanh>{});
    case Eltwise::kSigmoid: return f(std::integral_constant<Eltwise, Eltwise::kSigmoid>{});
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// One thread per group of four elements, numbers first + b .. first + b + 3: one Philox
// block, or the ends of two where `first` is not a multiple of four.
__global__ void dropout_kernel(const float* x, float* y, float* mask, int64_t n, float p, float scale, uint64_t seed,
                               uint64_t stream, uint64_t first) {
  const uint64_t skew = first % 4;
  for (int64_t b = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) * 4; b < n;
       b += int64_t{gridDim.x} * blockDim.x * 4) {
    uint32_t r[8];
    const uint64_t block = (first + b) / 4;
    philox4x32_10(block, stream, seed, r);
    if (skew != 0) philox4x32_10(block + 1, stream, seed, r + 4);
    for (int j = 0; j < 4 && b + j < n; ++j) {
      const float m = philox_unit_float(r[skew + j]) >= p ? scale : 0.f;
      mask[b + j] = m;
      y[b + j] = x[b + j] * m;
    }
  }
}

__global__ void add_bias_kernel(float* c, const float* bias, int64_t rows, int64_t cols) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < rows * cols;
       i += int64_t{gridDim.x} * blockDim.x)
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
  with_kind(kind, [&](auto k) {
    constexpr Eltwise K = decltype(k)::value;
    if (n % 4 == 0 && n / 4 < kMax32 && aligned16(x) && aligned16(y)) {
      eltwise_forward4_kernel<K, int32_t><<<blocks_for(n / 4), kThreads, 0, s>>>(
          alpha, reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), static_cast<int32_t>(n / 4));
    } else if (n < kMax32) {
      eltwise_forward_kernel<K, int32_t><<<blocks_for(n), kThreads, 0, s>>>(alpha, x, y, static_cast<int32_t>(n));
    } else {
      eltwise_forward_kernel<K, int64_t><<<blocks_for(n), kThreads, 0, s>>>(alpha, x, y, n);
    }
  });
  check_launch("eltwise_forward");
}

void eltwise_backward(cudaStream_t s, Eltwise kind, float alpha, const float* x, const float* dy, float* dx,
                      int64_t n) {
  if (n == 0) return;
  with_kind(kind, [&](auto k) {
    constexpr Eltwise K = decltype(k)::value;
    if (n % 4 == 0 && n / 4 < kMax32 && aligned16(x) && aligned16(dy) && aligned16(dx)) {
      eltwise_backward4_kernel<K, int32_t><<<blocks_for(n / 4), kThreads, 0, s>>>(
          alpha, reinterpret_cast<const float4*>(x), reinterpret_cast<const float4*>(dy), reinterpret_cast<float4*>(dx),
          static_cast<int32_t>(n / 4));
    } else if (n < kMax32) {
      eltwise_backward_kernel<K, int32_t><<<blocks_for(n), kThreads, 0, s>>>(alpha, x, dy, dx, static_cast<int32_t>(n));
    } else {
      eltwise_backward_kernel<K, int64_t><<<blocks_for(n), kThreads, 0, s>>>(alpha, x, dy, dx, n);
    }
  });
  check_launch("eltwise_backward");
}

void dropout_forward(cudaStream_t s, const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed,
                     uint64_t stream, uint64_t first) {
  if (n == 0) return;
  dropout_kernel<<<blocks_for((n + 3) / 4), kThreads, 0, s>>>(x, y, mask, n, p, 1.f / (1.f - p), seed, stream, first);
  check_launch("dropout_forward");
}

}  // namespace ty::cuda
