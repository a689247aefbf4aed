// Max and average pooling, forward and backward, with the reference backend's semantics:
// x, dx: (N, C, H, W) -> y, dy: (N, C, P, Q); max pooling keeps each output's argmax (the
// flat index in its H x W plane, the first maximum in window order; -1 for an all-padding
// window) in `argmax` (N, C, P, Q); average pooling leaves padding out of the count.
// Forward: one thread per output element. Backward of max pooling over windows that do not
// overlap and have no padding (the usual 2x2, stride 2): one thread per input element
// gathers its window's gradient (no zeroing pass, no atomics); otherwise dx is zeroed and
// each output scatters with atomics. Index arithmetic is 32-bit when the sizes allow (64-bit
// division is slow on the GPU).

#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

template <class I>
__global__ void pool_forward_kernel(PoolShape g, const float* x, float* y, int32_t* argmax) {
  const I total = static_cast<I>(g.n * g.c * g.p * g.q), P = static_cast<I>(g.p), Q = static_cast<I>(g.q);
  const I H = static_cast<I>(g.h), W = static_cast<I>(g.w);
  for (I o = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); o < total;
       o += static_cast<I>(gridDim.x * blockDim.x)) {
    const I q = o % Q, p = (o / Q) % P, nc = o / (P * Q);
    const float* plane = x + nc * H * W;
    float best = 0.f, sum = 0.f;
    int32_t best_i = -1;
    int count = 0;
    for (I r = 0; r < static_cast<I>(g.kh); ++r) {
      const I ih = p * static_cast<I>(g.stride_h) - static_cast<I>(g.pad_h) + r;
      if (ih < 0 || ih >= H) continue;
      for (I s = 0; s < static_cast<I>(g.kw); ++s) {
        const I iw = q * static_cast<I>(g.stride_w) - static_cast<I>(g.pad_w) + s;
        if (iw < 0 || iw >= W) continue;
        const float v = plane[ih * W + iw];
        if (best_i < 0 || v > best) {
          best = v;
          best_i = static_cast<int32_t>(ih * W + iw);
        }
        sum += v;
        ++count;
      }
    }
    if (g.max) {
      y[o] = best_i < 0 ? 0.f : best;
      argmax[o] = best_i;
    } else {
      y[o] = count ? sum / count : 0.f;
    }
  }
}

// Non-overlapping max windows without padding: dx[i] = dy[window of i] if i is its argmax.
template <class I>
__global__ void max_pool_gather_kernel(PoolShape g, const float* dy, const int32_t* argmax, float* dx) {
  const I H = static_cast<I>(g.h), W = static_cast<I>(g.w), P = static_cast<I>(g.p), Q = static_cast<I>(g.q);
  const I total = static_cast<I>(g.n * g.c) * H * W;
  for (I i = static_cast<I>(blockIdx.x * blockDim.x + threadIdx.x); i < total;
       i += static_cast<I>(gridDim.x * blockDim.x)) {
    const I iw = i % W, ih = (i / W) % H, nc = i / (H * W);
    const I p = ih / static_cast<I>(g.stride_h), q = iw / static_cast<I>(g.stride_w);
    float v = 0.f;
    if (p < P && q < Q && ih - p * static_cast<I>(g.stride_h) < static_cast<I>(g.kh) &&
        iw - q * static_cast<I>(g.stride_w) < static_cast<I>(g.kw)) {
      const I o = (nc * P + p) * Q + q;
      if (argmax[o] == static_cast<int32_t>(ih * W + iw)) v = dy[o];
    }
    dx[i] = v;
  }
}

__global__ void pool_scatter_kernel(PoolShape g, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t total = g.n * g.c * g.p * g.q;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < total; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t q = o % g.q, p = (o / g.q) % g.p, nc = o / (g.p * g.q);
    float* plane = dx + nc * g.h * g.w;
    if (g.max) {
      if (argmax[o] >= 0) atomicAdd(plane + argmax[o], dy[o]);
      continue;
    }
    const int64_t h0 = max(p * g.stride_h - g.pad_h, int64_t{0}), h1 = min(p * g.stride_h - g.pad_h + g.kh, g.h);
    const int64_t w0 = max(q * g.stride_w - g.pad_w, int64_t{0}), w1 = min(q * g.stride_w - g.pad_w + g.kw, g.w);
    const int64_t count = (h1 - h0) * (w1 - w0);
    if (count <= 0) continue;
    const float share = dy[o] / count;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) atomicAdd(plane + ih * g.w + iw, share);
  }
}

bool fits_32_bits(const PoolShape& g) { return g.n * g.c * g.h * g.w < kMax32 && g.n * g.c * g.p * g.q < kMax32; }

}  // namespace

void pool_forward(cudaStream_t s, const PoolShape& g, const float* x, float* y, int32_t* argmax) {
  const int64_t total = g.n * g.c * g.p * g.q;
  if (total == 0) return;
  if (fits_32_bits(g)) {
    pool_forward_kernel<int32_t><<<blocks_for(total), kThreads, 0, s>>>(g, x, y, argmax);
  } else {
    pool_forward_kernel<int64_t><<<blocks_for(total), kThreads, 0, s>>>(g, x, y, argmax);
  }
  check_launch("pool_forward");
}

void pool_backward(cudaStream_t s, const PoolShape& g, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t inputs = g.n * g.c * g.h * g.w, total = g.n * g.c * g.p * g.q;
  if (g.max && g.stride_h >= g.kh && g.stride_w >= g.kw && g.pad_h == 0 && g.pad_w == 0 && fits_32_bits(g)) {
    if (inputs == 0) return;
    max_pool_gather_kernel<int32_t><<<blocks_for(inputs), kThreads, 0, s>>>(g, dy, argmax, dx);
    check_launch("pool_backward");
    return;
  }
  if (cudaMemsetAsync(dx, 0, static_cast<size_t>(inputs) * sizeof(float), s) != cudaSuccess)
    check_launch("pool_backward (zeroing dx)");
  if (total == 0) return;
  pool_scatter_kernel<<<blocks_for(total), kThreads, 0, s>>>(g, dy, argmax, dx);
  check_launch("pool_backward");
}

}  // namespace ty::cuda
