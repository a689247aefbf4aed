// Differentiable ops. Each takes the Context, reads Vars, returns a new Var, and records its
// backward on ctx's tape when an input needs a gradient. Shapes are logical (images NCHW);
// convolution, pooling and batch norm keep activations in the backend's fastest layout
// (blocked on oneDNN) and every op that needs plain memory converts its inputs itself.
#pragma once

#include <vector>

#include "runtime/autograd.h"
#include "runtime/backend/kernels.h"

namespace ty::ops {

// x: (N, IN), w: (OUT, IN), b: (OUT) or undefined -> y: (N, OUT)
Var linear(Context& ctx, const Var& x, const Var& w, const Var& b);
// a: (M, K), b: (K, N) -> (M, N)
Var matmul(Context& ctx, const Var& a, const Var& b);

struct Conv2dParams {
  int64_t stride = 1, padding = 0;
};
// x: (N, C, H, W), w: (K, C, R, S), b: (K) or undefined -> y: (N, K, P, Q)
Var conv2d(Context& ctx, const Var& x, const Var& w, const Var& b, Conv2dParams p = {});

struct ConvTranspose2dParams {
  int64_t stride = 1, padding = 0, output_padding = 0;
};
// The transpose (gradient) of conv2d: x: (N, C, H, W), w: (C, K, R, S) (PyTorch's
// ConvTranspose2d layout), b: (K) or undefined -> y: (N, K, P, Q), P = (H - 1) · stride -
// 2 · padding + R + output_padding. Computed by the convolution kernels: its forward is
// conv2d's backward-data (oneDNN's, cuDNN's), its input gradient a conv2d forward and its
// weight gradient conv2d's backward-weights with input and output swapped.
Var conv_transpose2d(Context& ctx, const Var& x, const Var& w, const Var& b, ConvTranspose2dParams p = {});

struct Pool2dParams {
  int64_t kernel = 2, stride = 0 /* 0: = kernel */, padding = 0;
};
// x: (N, C, H, W) -> y: (N, C, P, Q). Average pooling leaves padding out of the count.
Var max_pool2d(Context& ctx, const Var& x, Pool2dParams p);
Var avg_pool2d(Context& ctx, const Var& x, Pool2dParams p);

// Elementwise activations, any shape.
Var activation(Context& ctx, const Var& x, Eltwise kind, float alpha = 0.f);
inline Var relu(Context& ctx, const Var& x) { return activation(ctx, x, Eltwise::kRelu); }
inline Var leaky_relu(Context& ctx, const Var& x, float slope = 0.01f) {
  return activation(ctx, x, Eltwise::kLeakyRelu, slope);
}
inline Var gelu(Context& ctx, const Var& x) { return activation(ctx, x, Eltwise::kGelu); }
inline Var tanh(Context& ctx, const Var& x) { return activation(ctx, x, Eltwise::kTanh); }
inline Var sigmoid(Context& ctx, const Var& x) { return activation(ctx, x, Eltwise::kSigmoid); }

// Over the last axis.
Var softmax(Context& ctx, const Var& x);
Var log_softmax(Context& ctx, const Var& x);

// Zeroes each element with probability p and scales the rest by 1/(1-p) when training.
// The mask is keyed, not drawn in turn: element e of row r (x is (N, ...), S elements a
// row) takes Philox(seed, dropout_stream(layer, key.step)) number (key.first_sample + r) *
// S + e, with `key` ctx.dropout_key(). A sample's mask therefore depends on the seed, the
// step, the layer and the sample's position alone: not on the ranks, the micro-batches or
// the pipeline stages it passes through, nor on what ran before.
Var dropout(Context& ctx, const Var& x, float p, bool training, uint32_t layer);

// Token embedding: ids i32 of any shape S (on ctx's device, each in [0, V)) -> (S..., D),
// position i taking row ids[i] of `table` (V, D). The backward adds each position's
// gradient into its row (a token seen twice gets both).
Var embedding(Context& ctx, const Tensor& ids, const Var& table);

// Recurrent layers over whole sequences from zero initial states. x: (N, L, E); w_ih
// (G·H, E), w_hh (G·H, H), b_ih, b_hh (G·H) with the gates stacked as PyTorch stacks them
// (LSTM G = 4: i, f, g, o; GRU G = 3: r, z, n, linear before reset) -> (N, L, H): the hidden
// state after every step.
Var lstm(Context& ctx, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh);
Var gru(Context& ctx, const Var& x, const Var& w_ih, const Var& w_hh, const Var& b_ih, const Var& b_hh);
// One step of either without gradients, for decoding: x (N, E); h (N, H), and c (N, H) for
// an LSTM (ignored for a GRU): the state before, replaced by the state after.
void recurrent_step(Context& ctx, bool lstm, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh, Tensor& h, Tensor& c);

// Causal multi-head self-attention. qkv: (N, T, 3D), each position's query, key and value
// side by side, each D wide and cut into `heads` heads of D / heads -> (N, T, D): per head,
// softmax(q kᵀ / √dh) v over the positions up to each query's own.
Var self_attention(Context& ctx, const Var& qkv, int64_t heads, bool causal, const Tensor* key_len = nullptr);
inline Var causal_self_attention(Context& ctx, const Var& qkv, int64_t heads) {
  return self_attention(ctx, qkv, heads, true);
}
// self_attention: the same with `causal` optional and key padding: sequence n sees only its
// first key_len[n] positions (key_len i32 (N) on ctx's device; null: all of them).
// Cross-attention (an encoder-decoder's): q (N, Tq, D) of the decoder, kv (N, Tk, 2D) the
// encoder memory's keys and values side by side -> (N, Tq, D); key_len as above.
Var cross_attention(Context& ctx, const Var& q, const Var& kv, int64_t heads, const Tensor* key_len = nullptr);
// Decoding, without gradients, one position per hypothesis and step: keys and values read
// through a row index (AttentionKernels::gathered_attention), so that a beam's hypotheses
// share their ancestors' cached rows and their sentence's memory rows without copies.
struct GatheredKeys {
  Tensor table;                      // (M, W): keys at columns [k_offset, +D), values at [v_offset, +D)
  int64_t k_offset = 0, v_offset = 0;
  Tensor index;                      // (N, T) i32: the table rows each query attends to
  Tensor len;                        // (N) i32: how many of them (the rest of its row unused)
};
// q: (N, ·), its first D columns the queries (D = the table's key width, `heads` heads)
// -> (N, D).
Tensor gathered_attention(Context& ctx, const Tensor& q, const GatheredKeys& keys, int64_t d, int64_t heads);
// The same for generation, without gradients, for N sequences in step: qkv (N, T, 3D) of
// their new positions are appended to `cache` (capacity, N, 3D: time-major) after its first
// `len` rows (len grows by T), and each new query attends to every cached position up to its
// own -> (N, T, D). (A beam search reorders the cache's second axis between steps.)
Tensor cached_causal_self_attention(Context& ctx, const Tensor& qkv, int64_t heads, Tensor& cache, int64_t& len);

// The same values in another memory layout (see Layout); identity when already there.
Var to_layout(Context& ctx, const Var& x, Layout layout);
// Plain layout: ops that index elements by position call this on their inputs.
inline Var plain(Context& ctx, const Var& x) { return to_layout(ctx, x, Layout::kPlain); }
// `x` when the backend running `family` takes its layout, else its plain copy.
inline Var for_family(Context& ctx, KernelFamily family, const Var& x) {
  return ctx.kernels(x.dtype()).handles(family, x.value().layout()) ? x : plain(ctx, x);
}

Var reshape(Context& ctx, const Var& x, Shape shape);
// x: (N, ...) -> (N, prod(...))
Var flatten(Context& ctx, const Var& x);
// Same shapes.
Var add(Context& ctx, const Var& a, const Var& b);
// x (N, C, ...) + b (C) on every element of channel c (x keeps its layout).
Var add_channel_bias(Context& ctx, const Var& x, const Var& b);
// Along `axis`; all other dimensions equal.
Var concat(Context& ctx, const std::vector<Var>& xs, int axis);
// -> scalar (shape (1))
Var sum(Context& ctx, const Var& x);
Var mean(Context& ctx, const Var& x);

// x: (N, C, ...). Training: normalizes with batch statistics and updates the running ones
// (running = (1 - momentum) * running + momentum * batch, unbiased variance); otherwise uses
// the running statistics.
Var batch_norm(Context& ctx, const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               float momentum, float eps, bool training);
// Synchronized batch norm: in training, the batch statistics (and, in backward, the sums
// the input gradient needs) are taken over every rank's batch through
// ctx.cross_rank_sum(); parameter gradients stay per rank (data parallel averages them).
// Without a cross-rank sum it is batch_norm.
Var sync_batch_norm(Context& ctx, const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean,
                    Tensor& running_var, float momentum, float eps, bool training);
// Over the last axis. gamma, beta: (D)
Var layer_norm(Context& ctx, const Var& x, const Var& gamma, const Var& beta, float eps);

// logits: (N, C), labels: i32 (N) -> scalar mean loss. Label smoothing spreads `smoothing`
// of the target mass uniformly over the C classes. Rows labelled kIgnoreLabel (padding)
// are left out of the loss and its mean (host labels; on the device they count in the mean).
inline constexpr int32_t kIgnoreLabel = -1;
Var cross_entropy(Context& ctx, const Var& logits, const Tensor& labels, float smoothing = 0.f);
// pred, target: same shape -> scalar mean squared error.
Var mse_loss(Context& ctx, const Var& pred, const Tensor& target);
// logits, target (0..1): same shape -> scalar mean binary cross-entropy.
Var bce_with_logits(Context& ctx, const Var& logits, const Tensor& target);

}  // namespace ty::ops
