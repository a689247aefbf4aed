// TransformerBlock: a pre-norm Transformer block, (T, D) -> (T, D), in one of three roles:
//   causal  (a language model, GPT-2's layout): x + dropout(proj(causal attention(qkv(ln1(x)))))
//           then + dropout(fc2(gelu(fc1(ln2(x)))));
//   encoder (seq2seq): the same with attention over every position of the source but its
//           padding;
//   decoder (seq2seq): causal self-attention, then cross-attention over the encoder's memory
//           (+ dropout(cross_proj(attention(cross_q(cross_ln(x)), cross_kv(memory))))), then
//           the MLP.
// Parameters: ln1.*, qkv.* (3D × D), proj.*, [cross_ln.*, cross_q.*, cross_kv.* (2D × D),
// cross_proj.*], ln2.*, fc1.*, fc2.*.
//
// apply() in a seq2seq model takes and hands on [source (N, Ls, D), source lengths i32 (N),
// target (N, Lt, D)]: an encoder block changes the first, a decoder block the third.
#pragma once

#include <memory>

#include "models/layers/layer_norm.h"
#include "models/layers/linear.h"
#include "runtime/ops/ops.h"

namespace ty {

class TransformerBlock final : public Layer {
 public:
  enum class Role { kCausal, kEncoder, kDecoder };
  // `dropout_index`: the first of the dropout indices the block takes (ops::dropout): two,
  // three for a decoder. `other_len` (seq2seq): the other side's length, the target's (Lt)
  // for an encoder, the source's (Ls) for a decoder. out_shape() is the side it changes.
  TransformerBlock(Context& ctx, InitRng& rng, const Shape& in, int64_t heads, int64_t d_ff, float dropout,
                   uint32_t dropout_index, DType dtype, Role role = Role::kCausal, int64_t other_len = 0);
  Var forward(Context& ctx, const Var& x) override;
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override { return shapes_; }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override;
  Role role() const { return role_; }
  static uint32_t dropout_count(Role role) { return role == Role::kDecoder ? 3 : 2; }

  // An encoder block over x (N, Ls, D) whose sequence n has key_len[n] positions.
  Var encode(Context& ctx, const Var& x, const Tensor& key_len);
  // A decoder's cross-attention keys and values of the memory (N, Ls, D) -> (N, Ls, 2D),
  // computed once per source for decoding.
  Var memory_kv(Context& ctx, const Var& memory);
  // Generation (a causal block): x (N, T, D) of the new positions, their keys and values
  // appended to `cache` ((capacity, N, 3D), `len` rows filled). No gradients.
  Var forward_cached(Context& ctx, const Var& x, Tensor& cache, int64_t& len);
  // Decoding (a decoder block), one position per hypothesis, no gradients: x (R, 1, D). Its
  // keys and values go to rows [first_row, first_row + R) of self.table (the cache, (rows,
  // 3D), keys at D and values at 2D); it attends to the rows self.index names (its
  // ancestry, its own new row last), then to `memory` (its source's rows of memory_kv).
  Var decode_step(Context& ctx, const Var& x, int64_t first_row, const ops::GatheredKeys& self,
                  const ops::GatheredKeys& memory);
  int64_t heads() const { return heads_; }

 private:
  struct Attend {
    const Tensor* key_len = nullptr;  // padding of the source
    const Var* kv = nullptr;          // decoder: the memory's keys and values
    Tensor* cache = nullptr;          // generation
    int64_t* len = nullptr;
    const ops::GatheredKeys* self = nullptr;    // decoding
    const ops::GatheredKeys* memory = nullptr;
    int64_t first_row = 0;
  };
  Var residual_branches(Context& ctx, const Var& x, const Attend& a);
  Role role_;
  int64_t heads_, d_ff_, memory_len_;
  float dropout_;
  uint32_t dropout_index_;
  std::vector<Shape> shapes_;
  std::unique_ptr<LayerNorm> ln1_, ln2_, cross_ln_;
  std::unique_ptr<Linear> qkv_, proj_, fc1_, fc2_, cross_q_, cross_kv_, cross_proj_;
};

}  // namespace ty
