// Attention kernels: head moves (one thread per element), the causal softmax of scores (one
// block per row, as softmax_kernels.cu) and decoding's gathered attention (one block per
// query and head, its scores in shared memory). CPU references:
// backend/host_attention_kernels.cc.
#include "runtime/backend/cuda/block_reduce.cuh"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

// Element k of the per-head tensor (n·heads, t, dh) and its place in x (n, t, w).
__device__ int64_t x_index(int64_t k, int64_t t, int64_t w, int64_t heads, int64_t dh, int64_t offset) {
  const int64_t j = k % dh, r = k / dh, ti = r % t, nh = r / t, h = nh % heads, n = nh / heads;
  return (n * t + ti) * w + offset + h * dh + j;
}

__global__ void heads_from_kernel(const float* x, float* out, int64_t total, int64_t t, int64_t w, int64_t heads,
                                  int64_t dh, int64_t offset) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < total; k += int64_t{gridDim.x} * blockDim.x)
    out[k] = x[x_index(k, t, w, heads, dh, offset)];
}

__global__ void heads_into_kernel(const float* in, float* x, int64_t total, int64_t t, int64_t w, int64_t heads,
                                  int64_t dh, int64_t offset) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < total; k += int64_t{gridDim.x} * blockDim.x)
    x[x_index(k, t, w, heads, dh, offset)] = in[k];
}

__global__ void masked_softmax_forward_kernel(const float* s, float* p, int64_t tq, int64_t tk, float scale,
                                              bool causal, const int32_t* key_len, int64_t heads) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x, i = row % tq;
  int64_t visible = causal ? min(tk, tk - tq + i + 1) : tk;
  if (key_len) visible = min(visible, static_cast<int64_t>(key_len[row / tq / heads]));
  const float* x = s + row * tk;
  float* y = p + row * tk;
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, x[j] * scale);
  m = block_reduce<true>(m, shared);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) sum += expf(x[j] * scale - m);
  sum = block_reduce<false>(sum, shared);
  // (A row that sees no key: sum is 0 but no element reads it.)
  for (int64_t j = threadIdx.x; j < tk; j += blockDim.x) y[j] = j < visible ? expf(x[j] * scale - m) / sum : 0.f;
}

__global__ void masked_softmax_backward_kernel(const float* p, const float* dp, float* ds, int64_t tk, float scale) {
  __shared__ float shared[32];
  const int64_t base = blockIdx.x * tk;
  float dot = 0.f;
  for (int64_t j = threadIdx.x; j < tk; j += blockDim.x) dot += p[base + j] * dp[base + j];
  dot = block_reduce<false>(dot, shared);
  for (int64_t j = threadIdx.x; j < tk; j += blockDim.x) ds[base + j] = scale * p[base + j] * (dp[base + j] - dot);
}

// Block (r, h): query r's head-h scores over its visible keys in shared memory, their
// softmax, then the weighted sums of the values, one thread per column of the head.
__global__ void gathered_attention_kernel(const float* q, int64_t q_stride, const float* table, int64_t w,
                                          int64_t k_offset, int64_t v_offset, const int32_t* index, int64_t t,
                                          const int32_t* len, int64_t heads, int64_t dh, float scale, float* y) {
  extern __shared__ float s[];  // (t)
  __shared__ float reduce[32];
  const int64_t r = blockIdx.x / heads, h = blockIdx.x % heads;
  const int64_t visible = max(min(static_cast<int64_t>(len[r]), t), int64_t{0});
  const float* qh = q + r * q_stride + h * dh;
  const int32_t* rows = index + r * t;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
    const float* k = table + rows[j] * w + k_offset + h * dh;
    float dot = 0.f;
    for (int64_t i = 0; i < dh; ++i) dot += qh[i] * k[i];
    s[j] = dot * scale;
  }
  __syncthreads();
  float m = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, s[j]);
  m = block_reduce<true>(m, reduce);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
    s[j] = expf(s[j] - m);
    sum += s[j];
  }
  sum = block_reduce<false>(sum, reduce);  // (its barriers also publish s[])
  for (int64_t c = threadIdx.x; c < dh; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t j = 0; j < visible; ++j) acc += s[j] * table[rows[j] * w + v_offset + h * dh + c];
    y[r * heads * dh + h * dh + c] = visible > 0 ? acc / sum : 0.f;
  }
}

}  // namespace

void gathered_attention(cudaStream_t s, const float* q, int64_t q_stride, const float* table, int64_t w,
                        int64_t k_offset, int64_t v_offset, const int32_t* index, int64_t n, int64_t t,
                        const int32_t* len, int64_t heads, int64_t dh, float scale, float* y) {
  if (n == 0) return;
  const size_t shared = static_cast<size_t>(t) * sizeof(float);
  gathered_attention_kernel<<<static_cast<unsigned>(n * heads), 64, shared, s>>>(q, q_stride, table, w, k_offset, v_offset,
                                                                         index, t, len, heads, dh, scale, y);
  check_launch("gathered_attention");
}

void heads_from(cudaStream_t s, const float* x, float* out, int64_t n, int64_t t, int64_t w, int64_t heads, int64_t dh,
                int64_t offset) {
  const int64_t total = n * heads * t * dh;
  if (total == 0) return;
  heads_from_kernel<<<blocks_for(total), kThreads, 0, s>>>(x, out, total, t, w, heads, dh, offset);
  check_launch("heads_from");
}

void heads_into(cudaStream_t s, const float* in, float* x, int64_t n, int64_t t, int64_t w, int64_t heads, int64_t dh,
                int64_t offset) {
  const int64_t total = n * heads * t * dh;
  if (total == 0) return;
  heads_into_kernel<<<blocks_for(total), kThreads, 0, s>>>(in, x, total, t, w, heads, dh, offset);
  check_launch("heads_into");
}

void masked_softmax_forward(cudaStream_t s, const float* scores, float* p, int64_t rows, int64_t tq, int64_t tk,
                            float scale, bool causal, const int32_t* key_len, int64_t heads) {
  if (rows == 0) return;
  masked_softmax_forward_kernel<<<static_cast<unsigned>(rows), 128, 0, s>>>(scores, p, tq, tk, scale, causal, key_len,
                                                                           heads);
  check_launch("masked_softmax_forward");
}

void masked_softmax_backward(cudaStream_t s, const float* p, const float* dp, float* ds, int64_t rows, int64_t tk,
                             float scale) {
  if (rows == 0) return;
  masked_softmax_backward_kernel<<<static_cast<unsigned>(rows), 128, 0, s>>>(p, dp, ds, tk, scale);
  check_launch("masked_softmax_backward");
}

}  // namespace ty::cuda
