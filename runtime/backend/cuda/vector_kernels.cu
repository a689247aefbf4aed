// Vector kernels: fills, elementwise arithmetic, whole-tensor reductions (one block,
// summed in double, so results do not depend on the launch shape), losses and the
// gradient-norm clip. CPU references: backend/host_kernels.cc.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>

#include "runtime/backend/cuda/block_reduce.cuh"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

#define TY_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < (n); i += int64_t{gridDim.x} * blockDim.x)

constexpr int kReduceThreads = 1024;

// Sum over the block in double; thread 0 gets the result.
__device__ double block_sum_double(double v) {
  __shared__ double shared[32];
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = 0;
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / 32) ? shared[lane] : 0.0;
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  }
  return v;
}

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  TY_GRID_STRIDE(i, n) p[i] = v;
}

__global__ void binary_kernel(BinaryOp op, const float* a, const float* b, float* y, int64_t n, float alpha,
                              float beta) {
  TY_GRID_STRIDE(i, n) {
    switch (op) {
      case BinaryOp::kAdd: y[i] = a[i] + b[i]; break;
      case BinaryOp::kMul: y[i] = a[i] * b[i]; break;
      case BinaryOp::kAxpby: y[i] = alpha * a[i] + beta * y[i]; break;
    }
  }
}

__global__ void sum_kernel(const float* x, int64_t n, double scale, float* y) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
  acc = block_sum_double(acc);
  if (threadIdx.x == 0) *y = static_cast<float>(acc * scale);
}

__global__ void sum_squares_kernel(const float* x, int64_t n, double* acc) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += double(x[i]) * x[i];
  s = block_sum_double(s);
  if (threadIdx.x == 0) *acc += s;
}

__global__ void broadcast_kernel(const float* s, double scale, float* y, int64_t n) {
  const float v = static_cast<float>(*s * scale);
  TY_GRID_STRIDE(i, n) y[i] = v;
}

__global__ void clip_kernel(float* x, int64_t n, const double* sq, double max_norm) {
  const double norm = sqrt(*sq);
  if (!(norm > max_norm)) return;
  const double scale = max_norm / (norm + 1e-6);
  TY_GRID_STRIDE(i, n) x[i] = static_cast<float>(x[i] * scale);
}

// A negative label leaves its row out (loss and gradient 0); one at c or past makes the loss
// NaN (the host checks labels where it loads them).
__global__ void cross_entropy_forward_kernel(const float* logp, const int32_t* labels, int64_t n, int64_t c,
                                             float smoothing, float* loss) {
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int32_t l = labels[i];
    if (l < 0) continue;
    if (l >= c) {
      total += NAN;
      continue;
    }
    double row = -(1.0 - smoothing) * logp[i * c + l];
    if (smoothing > 0) {
      double s = 0;
      for (int64_t j = 0; j < c; ++j) s += logp[i * c + j];
      row -= smoothing / c * s;
    }
    total += row;
  }
  total = block_sum_double(total);
  if (threadIdx.x == 0) *loss = static_cast<float>(total / (n > 0 ? n : 1));
}

__global__ void cross_entropy_backward_kernel(const float* logp, const int32_t* labels, int64_t n, int64_t c,
                                              float smoothing, const float* dloss, float* dx) {
  const float scale = *dloss / static_cast<float>(n > 0 ? n : 1);
  TY_GRID_STRIDE(k, n * c) {
    const int64_t i = k / c, j = k % c;
    const float q = smoothing / c + (j == labels[i] ? 1.f - smoothing : 0.f);
    dx[k] = labels[i] < 0 ? 0.f : (expf(logp[k]) - q) * scale;
  }
}

__global__ void mse_forward_kernel(const float* p, const float* t, int64_t n, float* loss) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += double(p[i] - t[i]) * (p[i] - t[i]);
  acc = block_sum_double(acc);
  if (threadIdx.x == 0) *loss = static_cast<float>(acc / (n > 0 ? n : 1));
}

__global__ void mse_backward_kernel(const float* p, const float* t, int64_t n, const float* dloss, float* dx) {
  const float scale = 2.f * *dloss / static_cast<float>(n > 0 ? n : 1);
  TY_GRID_STRIDE(i, n) dx[i] = (p[i] - t[i]) * scale;
}

__global__ void bce_forward_kernel(const float* x, const float* t, int64_t n, float* loss) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double v = x[i];
    acc += fmax(v, 0.0) - v * t[i] + log1p(exp(-fabs(v)));
  }
  acc = block_sum_double(acc);
  if (threadIdx.x == 0) *loss = static_cast<float>(acc / (n > 0 ? n : 1));
}

__global__ void bce_backward_kernel(const float* x, const float* t, int64_t n, const float* dloss, float* dx) {
  const float scale = *dloss / static_cast<float>(n > 0 ? n : 1);
  TY_GRID_STRIDE(i, n) dx[i] = (1.f / (1.f + expf(-x[i])) - t[i]) * scale;
}

// One block per (n, c) plane of s elements.
__global__ void add_channel_bias_kernel(const float* x, const float* bias, float* y, int64_t c, int64_t s) {
  const float b = bias[blockIdx.x % c];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * s;
  for (int64_t j = threadIdx.x; j < s; j += blockDim.x) y[base + j] = x[base + j] + b;
}

__global__ void plane_sums_kernel(const float* x, int64_t s, float* sums) {
  __shared__ float shared[32];
  const float* plane = x + static_cast<int64_t>(blockIdx.x) * s;
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < s; j += blockDim.x) acc += plane[j];
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) sums[blockIdx.x] = acc;
}

// One block per channel: y[ch] = sum over i of planes[i * c + ch].
__global__ void channel_totals_kernel(const float* planes, int64_t n, int64_t c, float* y) {
  __shared__ float shared[32];
  float acc = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += planes[i * c + blockIdx.x];
  acc = block_sum(acc, shared);
  if (threadIdx.x == 0) y[blockIdx.x] = acc;
}

template <class T>
__device__ T from_float(float v);
template <>
__device__ __nv_bfloat16 from_float(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __half from_float(float v) {
  return __float2half_rn(v);
}

template <class T>
__global__ void to_half_kernel(const float* x, T* y, int64_t n) {
  TY_GRID_STRIDE(i, n) y[i] = from_float<T>(x[i]);
}

// Four elements a thread: one 16-byte load, one 8-byte store (n4 = n / 4, aligned pointers).
template <class T>
__global__ void to_half4_kernel(const float4* x, T* y, int32_t n4) {
  for (int32_t i = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x); i < n4;
       i += static_cast<int32_t>(gridDim.x * blockDim.x)) {
    const float4 v = x[i];
    struct alignas(8) Four {
      T a, b, c, d;
    } out{from_float<T>(v.x), from_float<T>(v.y), from_float<T>(v.z), from_float<T>(v.w)};
    reinterpret_cast<Four*>(y)[i] = out;
  }
}

template <class T>
__global__ void from_half_kernel(const T* x, float* y, int64_t n) {
  TY_GRID_STRIDE(i, n) y[i] = static_cast<float>(x[i]);
}

template <class T>
__global__ void from_half4_kernel(const T* x, float4* y, int32_t n4) {
  struct alignas(8) Four {
    T a, b, c, d;
  };
  for (int32_t i = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x); i < n4;
       i += static_cast<int32_t>(gridDim.x * blockDim.x)) {
    const Four v = reinterpret_cast<const Four*>(x)[i];
    y[i] =
        make_float4(static_cast<float>(v.a), static_cast<float>(v.b), static_cast<float>(v.c), static_cast<float>(v.d));
  }
}

bool vectorizable(const void* a, const void* b, int64_t n) {
  return n % 4 == 0 && n / 4 < kMax32 && (reinterpret_cast<uintptr_t>(a) & 15) == 0 &&
         (reinterpret_cast<uintptr_t>(b) & 15) == 0;
}

__global__ void one_hot_kernel(const int32_t* labels, int64_t n, int64_t c, float* y) {
  TY_GRID_STRIDE(k, n * c) y[k] = labels[k / c] == k % c ? 1.f : 0.f;
}

}  // namespace

void fill(cudaStream_t s, void* dst, int64_t count, uint64_t pattern, int pattern_bytes) {
  if (count == 0) return;
  if (pattern_bytes == 2) {
    fill_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<uint16_t*>(dst), count,
                                                       static_cast<uint16_t>(pattern));
  } else if (pattern_bytes == 4) {
    uint32_t v = static_cast<uint32_t>(pattern);
    fill_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<uint32_t*>(dst), count, v);
  } else {
    fill_kernel<<<blocks_for(count), kThreads, 0, s>>>(static_cast<uint64_t*>(dst), count, pattern);
  }
  check_launch("fill");
}

void binary(cudaStream_t s, BinaryOp op, const float* a, const float* b, float* y, int64_t n, float alpha, float beta) {
  if (n == 0) return;
  binary_kernel<<<blocks_for(n), kThreads, 0, s>>>(op, a, b, y, n, alpha, beta);
  check_launch("binary");
}

void sum(cudaStream_t s, const float* x, int64_t n, double scale, float* y) {
  sum_kernel<<<1, kReduceThreads, 0, s>>>(x, n, scale, y);
  check_launch("sum");
}

void add_sum_squares(cudaStream_t s, const float* x, int64_t n, double* acc) {
  sum_squares_kernel<<<1, kReduceThreads, 0, s>>>(x, n, acc);
  check_launch("add_sum_squares");
}

void broadcast_scalar(cudaStream_t s, const float* scalar, double scale, float* y, int64_t n) {
  if (n == 0) return;
  broadcast_kernel<<<blocks_for(n), kThreads, 0, s>>>(scalar, scale, y, n);
  check_launch("broadcast_scalar");
}

void clip_by_norm(cudaStream_t s, float* x, int64_t n, const double* sq, double max_norm) {
  if (n == 0) return;
  clip_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, n, sq, max_norm);
  check_launch("clip_by_norm");
}

void cross_entropy_forward(cudaStream_t s, const float* logp, const int32_t* labels, int64_t n, int64_t c,
                           float smoothing, float* loss) {
  cross_entropy_forward_kernel<<<1, kReduceThreads, 0, s>>>(logp, labels, n, c, smoothing, loss);
  check_launch("cross_entropy_forward");
}

void cross_entropy_backward(cudaStream_t s, const float* logp, const int32_t* labels, int64_t n, int64_t c,
                            float smoothing, const float* dloss, float* dx) {
  if (n * c == 0) return;
  cross_entropy_backward_kernel<<<blocks_for(n * c), kThreads, 0, s>>>(logp, labels, n, c, smoothing, dloss, dx);
  check_launch("cross_entropy_backward");
}

void mse_forward(cudaStream_t s, const float* p, const float* t, int64_t n, float* loss) {
  mse_forward_kernel<<<1, kReduceThreads, 0, s>>>(p, t, n, loss);
  check_launch("mse_forward");
}

void mse_backward(cudaStream_t s, const float* p, const float* t, int64_t n, const float* dloss, float* dx) {
  if (n == 0) return;
  mse_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(p, t, n, dloss, dx);
  check_launch("mse_backward");
}

void bce_forward(cudaStream_t s, const float* x, const float* t, int64_t n, float* loss) {
  bce_forward_kernel<<<1, kReduceThreads, 0, s>>>(x, t, n, loss);
  check_launch("bce_forward");
}

void bce_backward(cudaStream_t s, const float* x, const float* t, int64_t n, const float* dloss, float* dx) {
  if (n == 0) return;
  bce_backward_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, t, n, dloss, dx);
  check_launch("bce_backward");
}

void one_hot(cudaStream_t s, const int32_t* labels, int64_t n, int64_t c, float* y) {
  if (n * c == 0) return;
  one_hot_kernel<<<blocks_for(n * c), kThreads, 0, s>>>(labels, n, c, y);
  check_launch("one_hot");
}

void add_channel_bias(cudaStream_t st, const float* x, const float* bias, float* y, int64_t n, int64_t c, int64_t s) {
  if (n * c * s == 0) return;
  add_channel_bias_kernel<<<static_cast<unsigned>(n * c), kThreads, 0, st>>>(x, bias, y, c, s);
  check_launch("add_channel_bias");
}

void channel_sums(cudaStream_t st, const float* x, float* plane_sums, float* y, int64_t n, int64_t c, int64_t s) {
  if (c == 0) return;
  if (n * s == 0) {
    fill(st, y, c, 0, 4);
    return;
  }
  plane_sums_kernel<<<static_cast<unsigned>(n * c), kThreads, 0, st>>>(x, s, plane_sums);
  check_launch("channel_sums (planes)");
  channel_totals_kernel<<<static_cast<unsigned>(c), kThreads, 0, st>>>(plane_sums, n, c, y);
  check_launch("channel_sums");
}

void to_half(cudaStream_t s, const float* x, void* y, int64_t n, bool bf16) {
  if (n == 0) return;
  auto launch = [&](auto* out) {
    if (vectorizable(x, y, n)) {
      to_half4_kernel<<<blocks_for(n / 4), kThreads, 0, s>>>(reinterpret_cast<const float4*>(x), out,
                                                             static_cast<int32_t>(n / 4));
    } else {
      to_half_kernel<<<blocks_for(n), kThreads, 0, s>>>(x, out, n);
    }
  };
  if (bf16) {
    launch(static_cast<__nv_bfloat16*>(y));
  } else {
    launch(static_cast<__half*>(y));
  }
  check_launch("to_half");
}

void from_half(cudaStream_t s, const void* x, float* y, int64_t n, bool bf16) {
  if (n == 0) return;
  auto launch = [&](const auto* in) {
    if (vectorizable(x, y, n)) {
      from_half4_kernel<<<blocks_for(n / 4), kThreads, 0, s>>>(in, reinterpret_cast<float4*>(y),
                                                               static_cast<int32_t>(n / 4));
    } else {
      from_half_kernel<<<blocks_for(n), kThreads, 0, s>>>(in, y, n);
    }
  };
  if (bf16) {
    launch(static_cast<const __nv_bfloat16*>(x));
  } else {
    launch(static_cast<const __half*>(x));
  }
  check_launch("from_half");
}

}  // namespace ty::cuda
