// Max and average pooling, forward and backward, with the reference backend's semantics:
// x, dx: (N, C, H, W) -> y, dy: (N, C, P, Q); max pooling keeps each output's argmax (the
// flat index in its H x W plane, the first maximum in window order; -1 for an all-padding
// window) in `argmax` (N, C, P, Q); average pooling leaves padding out of the count.
// One thread per output element; backward scatters with atomics into a zeroed dx.
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__global__ void pool_forward_kernel(PoolShape g, const float* x, float* y, int32_t* argmax) {
  const int64_t total = g.n * g.c * g.p * g.q;
  for (int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; o < total; o += int64_t{gridDim.x} * blockDim.x) {
    const int64_t q = o % g.q, p = (o / g.q) % g.p, nc = o / (g.p * g.q);
    const float* plane = x + nc * g.h * g.w;
    float best = 0.f, sum = 0.f;
    int32_t best_i = -1;
    int64_t count = 0;
    for (int64_t r = 0; r < g.kh; ++r) {
      const int64_t ih = p * g.stride_h - g.pad_h + r;
      if (ih < 0 || ih >= g.h) continue;
      for (int64_t s = 0; s < g.kw; ++s) {
        const int64_t iw = q * g.stride_w - g.pad_w + s;
        if (iw < 0 || iw >= g.w) continue;
        const float v = plane[ih * g.w + iw];
        if (best_i < 0 || v > best) {
          best = v;
          best_i = static_cast<int32_t>(ih * g.w + iw);
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

__global__ void pool_backward_kernel(PoolShape g, const float* dy, const int32_t* argmax, float* dx) {
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

}  // namespace

void pool_forward(cudaStream_t s, const PoolShape& g, const float* x, float* y, int32_t* argmax) {
  const int64_t total = g.n * g.c * g.p * g.q;
  if (total == 0) return;
  pool_forward_kernel<<<blocks_for(total), kThreads, 0, s>>>(g, x, y, argmax);
  check_launch("pool_forward");
}

void pool_backward(cudaStream_t s, const PoolShape& g, const float* dy, const int32_t* argmax, float* dx) {
  const int64_t total = g.n * g.c * g.p * g.q;
  if (cudaMemsetAsync(dx, 0, static_cast<size_t>(g.n * g.c * g.h * g.w) * sizeof(float), s) != cudaSuccess)
    check_launch("pool_backward (zeroing dx)");
  if (total == 0) return;
  pool_backward_kernel<<<blocks_for(total), kThreads, 0, s>>>(g, dy, argmax, dx);
  check_launch("pool_backward");
}

}  // namespace ty::cuda
