// Recurrent kernels: one LSTM or GRU time step's gate arithmetic (one thread per state
// element), and the swap of a sequence's first two axes. CPU references:
// backend/host_recurrent_kernels.cc.
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/grid.h"

namespace ty::cuda {
namespace {

__device__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

__global__ void swap_axes01_kernel(const float* src, float* dst, int64_t a, int64_t b, int64_t d) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < a * b * d;
       k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t e = k % d, ij = k / d, i = ij / b, j = ij % b;
    dst[(j * a + i) * d + e] = src[k];
  }
}

__global__ void lstm_forward_kernel(const float* xw, const float* hw, const float* c_prev, float* act, float* c,
                                    float* h, int64_t n, int64_t hs) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * hs; k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = k / hs, j = k % hs, g = r * 4 * hs + j;
    const float i = sigmoidf(xw[g] + hw[g]), f = sigmoidf(xw[g + hs] + hw[g + hs]);
    const float gg = tanhf(xw[g + 2 * hs] + hw[g + 2 * hs]), o = sigmoidf(xw[g + 3 * hs] + hw[g + 3 * hs]);
    act[g] = i, act[g + hs] = f, act[g + 2 * hs] = gg, act[g + 3 * hs] = o;
    const float cn = f * c_prev[k] + i * gg;
    c[k] = cn;
    h[k] = o * tanhf(cn);
  }
}

__global__ void lstm_backward_kernel(const float* act, const float* c_prev, const float* c, const float* dh, float* dc,
                                     float* dg, int64_t n, int64_t hs) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * hs; k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = k / hs, j = k % hs, g = r * 4 * hs + j;
    const float i = act[g], f = act[g + hs], gg = act[g + 2 * hs], o = act[g + 3 * hs];
    const float tc = tanhf(c[k]);
    const float dct = dc[k] + dh[k] * o * (1.f - tc * tc);
    dg[g] = dct * gg * i * (1.f - i);
    dg[g + hs] = dct * c_prev[k] * f * (1.f - f);
    dg[g + 2 * hs] = dct * i * (1.f - gg * gg);
    dg[g + 3 * hs] = dh[k] * tc * o * (1.f - o);
    dc[k] = dct * f;
  }
}

__global__ void gru_forward_kernel(const float* xw, const float* hw, const float* h_prev, float* act, float* h,
                                   int64_t n, int64_t hs) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * hs; k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = k / hs, j = k % hs, g = r * 3 * hs + j, a = r * 4 * hs + j;
    const float rg = sigmoidf(xw[g] + hw[g]), z = sigmoidf(xw[g + hs] + hw[g + hs]);
    const float nn = tanhf(xw[g + 2 * hs] + rg * hw[g + 2 * hs]);
    act[a] = rg, act[a + hs] = z, act[a + 2 * hs] = nn, act[a + 3 * hs] = hw[g + 2 * hs];
    h[k] = (1.f - z) * nn + z * h_prev[k];
  }
}

__global__ void gru_backward_kernel(const float* act, const float* h_prev, const float* dh, float* dxw, float* dhw,
                                    float* dh_prev, int64_t n, int64_t hs) {
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n * hs; k += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = k / hs, j = k % hs, g = r * 3 * hs + j, a = r * 4 * hs + j;
    const float rg = act[a], z = act[a + hs], nn = act[a + 2 * hs], hn = act[a + 3 * hs];
    const float dn = dh[k] * (1.f - z) * (1.f - nn * nn);
    const float dz = dh[k] * (h_prev[k] - nn) * z * (1.f - z);
    const float dr = dn * hn * rg * (1.f - rg);
    dxw[g] = dr, dxw[g + hs] = dz, dxw[g + 2 * hs] = dn;
    dhw[g] = dr, dhw[g + hs] = dz, dhw[g + 2 * hs] = dn * rg;
    dh_prev[k] = dh[k] * z;
  }
}

}  // namespace

void swap_axes01(cudaStream_t s, const float* src, float* dst, int64_t a, int64_t b, int64_t d) {
  if (a * b * d == 0) return;
  swap_axes01_kernel<<<blocks_for(a * b * d), kThreads, 0, s>>>(src, dst, a, b, d);
  check_launch("swap_axes01");
}

void lstm_step_forward(cudaStream_t s, const float* xw, const float* hw, const float* c_prev, float* act, float* c,
                       float* h, int64_t n, int64_t hs) {
  if (n * hs == 0) return;
  lstm_forward_kernel<<<blocks_for(n * hs), kThreads, 0, s>>>(xw, hw, c_prev, act, c, h, n, hs);
  check_launch("lstm_step_forward");
}

void lstm_step_backward(cudaStream_t s, const float* act, const float* c_prev, const float* c, const float* dh,
                        float* dc, float* dgates, int64_t n, int64_t hs) {
  if (n * hs == 0) return;
  lstm_backward_kernel<<<blocks_for(n * hs), kThreads, 0, s>>>(act, c_prev, c, dh, dc, dgates, n, hs);
  check_launch("lstm_step_backward");
}

void gru_step_forward(cudaStream_t s, const float* xw, const float* hw, const float* h_prev, float* act, float* h,
                      int64_t n, int64_t hs) {
  if (n * hs == 0) return;
  gru_forward_kernel<<<blocks_for(n * hs), kThreads, 0, s>>>(xw, hw, h_prev, act, h, n, hs);
  check_launch("gru_step_forward");
}

void gru_step_backward(cudaStream_t s, const float* act, const float* h_prev, const float* dh, float* dxw, float* dhw,
                       float* dh_prev, int64_t n, int64_t hs) {
  if (n * hs == 0) return;
  gru_backward_kernel<<<blocks_for(n * hs), kThreads, 0, s>>>(act, h_prev, dh, dxw, dhw, dh_prev, n, hs);
  check_launch("gru_step_backward");
}

}  // namespace ty::cuda
