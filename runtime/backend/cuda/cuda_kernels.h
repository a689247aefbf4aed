// Own CUDA kernels, launched on a given stream over device pointers (f32). Each has a CPU
// reference it is tested against (tests/runtime/cuda/): the reference backend's eltwise
// and softmax, the optimizers' update_math.h (the same per-element code), and Philox for
// dropout (the same numbers as ops::dropout on the CPU). A launch failure fails the process
// naming the kernel (a lost device, not bad input). This header is compiled by nvcc: it
// includes nothing beyond the CUDA runtime and the shared math headers.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/backend/eltwise_kind.h"
#include "runtime/optim/update_math.h"

namespace ty::cuda {

// Fails the process if the last launch on this thread failed, naming `kernel`.
void check_launch(const char* kernel);

// y = f(x), dx = f'(x) * dy over n elements; `alpha` is the LeakyReLU slope.
void eltwise_forward(cudaStream_t s, Eltwise kind, float alpha, const float* x, float* y, int64_t n);
void eltwise_backward(cudaStream_t s, Eltwise kind, float alpha, const float* x, const float* dy, float* dx, int64_t n);

// x, y: (rows, cols), softmax or log-softmax over each row; dx from y and dy.
void softmax_forward(cudaStream_t s, bool log, const float* x, float* y, int64_t rows, int64_t cols);
void softmax_backward(cudaStream_t s, bool log, const float* y, const float* dy, float* dx, int64_t rows, int64_t cols);

// y (n, c, s) = x + bias (c) on every channel plane (convolution bias); x may be y.
void add_channel_bias(cudaStream_t st, const float* x, const float* bias, float* y, int64_t n, int64_t c, int64_t s);
// y (c) = sums of x (n, c, s) per channel (convolution bias gradient), in two passes
// (a block per plane into plane_sums (n * c), then a block per channel): deterministic.
void channel_sums(cudaStream_t st, const float* x, float* plane_sums, float* y, int64_t n, int64_t c, int64_t s);

// c (rows, cols) += bias (cols) on every row.
void add_bias_rows(cudaStream_t s, float* c, const float* bias, int64_t rows, int64_t cols);

// Fused optimizer updates over n elements, in place (buf may be null without momentum).
void sgd_update(cudaStream_t s, float* p, const float* g, float* buf, int64_t n, const SgdStep& step);
void adam_update(cudaStream_t s, float* p, const float* g, float* m, float* v, int64_t n, const AdamStep& step);

// Batch norm over x viewed as (n, c, s), per channel; layer norm over x viewed as
// (rows, cols), per row. Semantics as NormKernels' batchnorm_*/layernorm_*.
void batchnorm_forward(cudaStream_t st, const float* x, const float* gamma, const float* beta, float eps, bool training,
                       float* mean, float* var, float* y, int64_t n, int64_t c, int64_t s);
void batchnorm_backward(cudaStream_t st, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* var, float eps, bool training, float* dx, float* dgamma, float* dbeta, int64_t n,
                        int64_t c, int64_t s);
void layernorm_forward(cudaStream_t st, const float* x, const float* gamma, const float* beta, float eps, float* y,
                       float* mean, float* var, int64_t rows, int64_t cols);
void layernorm_backward(cudaStream_t st, const float* x, const float* dy, const float* gamma, const float* mean,
                        const float* var, float eps, float* dx, float* dgamma, float* dbeta, int64_t rows,
                        int64_t cols);

// Pooling geometry (ConvKernels' PoolGeom, without the tensor headers).
struct PoolShape {
  int64_t n, c, h, w, p, q;
  int64_t kh, kw, stride_h, stride_w, pad_h, pad_w;
  bool max;
};
// argmax (n, c, p, q) is written by max pooling and read by its backward; dx is zeroed.
void pool_forward(cudaStream_t s, const PoolShape& g, const float* x, float* y, int32_t* argmax);
void pool_backward(cudaStream_t s, const PoolShape& g, const float* dy, const int32_t* argmax, float* dx);

// Embedding: out (n, d) = rows ids[i] of table (V, d); dtable[ids[i]] += dout[i] (atomics:
// the order of additions to a repeated row varies, so its sum may differ in the last bit).
void gather_rows(cudaStream_t s, const float* table, const int32_t* ids, float* out, int64_t n, int64_t d);
void scatter_add_rows(cudaStream_t s, const float* dout, const int32_t* ids, float* dtable, int64_t n, int64_t d);

// Recurrent steps (RecurrentKernels, plain f32): dst (b, a, d) = src (a, b, d); one LSTM or
// GRU step's gates for n rows of hs states.
void swap_axes01(cudaStream_t s, const float* src, float* dst, int64_t a, int64_t b, int64_t d);
void lstm_step_forward(cudaStream_t s, const float* xw, const float* hw, const float* c_prev, float* act, float* c,
                       float* h, int64_t n, int64_t hs);
void lstm_step_backward(cudaStream_t s, const float* act, const float* c_prev, const float* c, const float* dh,
                        float* dc, float* dgates, int64_t n, int64_t hs);
void gru_step_forward(cudaStream_t s, const float* xw, const float* hw, const float* h_prev, float* act, float* h,
                      int64_t n, int64_t hs);
void gru_step_backward(cudaStream_t s, const float* act, const float* h_prev, const float* dh, float* dxw, float* dhw,
                       float* dh_prev, int64_t n, int64_t hs);

// Attention (AttentionKernels, plain f32): head moves between x (n, t, w) and (n·heads, t,
// dh) at column `offset`; the masked softmax of `rows` = B·tq score rows of tk keys (causal
// and/or key_len: i32 (B / heads) on the device, or null).
void heads_from(cudaStream_t s, const float* x, float* out, int64_t n, int64_t t, int64_t w, int64_t heads, int64_t dh,
                int64_t offset);
void heads_into(cudaStream_t s, const float* in, float* x, int64_t n, int64_t t, int64_t w, int64_t heads, int64_t dh,
                int64_t offset);
void masked_softmax_forward(cudaStream_t s, const float* scores, float* p, int64_t rows, int64_t tq, int64_t tk,
                            float scale, bool causal, const int32_t* key_len, int64_t heads);
void masked_softmax_backward(cudaStream_t s, const float* p, const float* dp, float* ds, int64_t rows, int64_t tk,
                             float scale);
// AttentionKernels::gathered_attention: n queries (q_stride apart), table rows w wide,
// index (n, t), len (n), y (n, heads·dh); t at most kGatheredAttentionMaxKeysCuda.
void gathered_attention(cudaStream_t s, const float* q, int64_t q_stride, const float* table, int64_t w,
                        int64_t k_offset, int64_t v_offset, const int32_t* index, int64_t n, int64_t t,
                        const int32_t* len, int64_t heads, int64_t dh, float scale, float* y);

// Dropout: mask[i] = scale or 0 from Philox(seed, stream) number `first + i` (any first),
// y = x * mask; the CPU's ops::dropout draws the same numbers.
void dropout_forward(cudaStream_t s, const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed,
                     uint64_t stream, uint64_t first);

// 16-bit floats (bf16 when `bf16`, else IEEE f16) from and to f32, rounding to nearest even.
void to_half(cudaStream_t s, const float* x, void* y, int64_t n, bool bf16);
void from_half(cudaStream_t s, const void* x, float* y, int64_t n, bool bf16);

// dst = `count` copies of the low `pattern_bytes` (2, 4 or 8) bytes of `pattern`.
void fill(cudaStream_t s, void* dst, int64_t count, uint64_t pattern, int pattern_bytes);

// Elementwise over n: kAdd y = a + b, kMul y = a * b, kAxpby y = alpha a + beta y (b unused).
enum class BinaryOp { kAdd, kMul, kAxpby };
void binary(cudaStream_t s, BinaryOp op, const float* a, const float* b, float* y, int64_t n, float alpha = 1.f,
            float beta = 0.f);
// Whole-tensor reductions in one block, summed in double: *y = scale * sum(x); *acc += sum(x^2).
void sum(cudaStream_t s, const float* x, int64_t n, double scale, float* y);
void add_sum_squares(cudaStream_t s, const float* x, int64_t n, double* acc);
// y[i] = *scalar * scale.
void broadcast_scalar(cudaStream_t s, const float* scalar, double scale, float* y, int64_t n);
// x *= max_norm / (sqrt(*sq) + 1e-6) when sqrt(*sq) > max_norm.
void clip_by_norm(cudaStream_t s, float* x, int64_t n, const double* sq, double max_norm);

// Losses, as LossKernels' (mean over the batch; backward scaled by *dloss).
void cross_entropy_forward(cudaStream_t s, const float* logp, const int32_t* labels, int64_t n, int64_t c,
                           float smoothing, float* loss);
void cross_entropy_backward(cudaStream_t s, const float* logp, const int32_t* labels, int64_t n, int64_t c,
                            float smoothing, const float* dloss, float* dx);
void mse_forward(cudaStream_t s, const float* p, const float* t, int64_t n, float* loss);
void mse_backward(cudaStream_t s, const float* p, const float* t, int64_t n, const float* dloss, float* dx);
void bce_forward(cudaStream_t s, const float* x, const float* t, int64_t n, float* loss);
void bce_backward(cudaStream_t s, const float* x, const float* t, int64_t n, const float* dloss, float* dx);
void one_hot(cudaStream_t s, const int32_t* labels, int64_t n, int64_t c, float* y);

}  // namespace ty::cuda
