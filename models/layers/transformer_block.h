// TransformerBlock: a pre-norm decoder block, (T, D) -> (T, D):
//   x + dropout(proj(attention(qkv(ln1(x))))), then + dropout(fc2(gelu(fc1(ln2(x))))),
// causal multi-head self-attention and a GELU MLP of d_ff, as GPT-2 lays them out.
// Parameters: ln1.*, qkv.* (3D × D), proj.*, ln2.*, fc1.*, fc2.*.
#pragma once

#include <memory>

#include "models/layers/layer_norm.h"
#include "models/layers/linear.h"

namespace ty {

class TransformerBlock final : public Layer {
 public:
  // `dropout_index`: the first of the two dropout indices the block takes (ops::dropout).
  TransformerBlock(Context& ctx, InitRng& rng, const Shape& in, int64_t heads, int64_t d_ff, float dropout,
                   uint32_t dropout_index, DType dtype);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override;

  // Generation: x (1, T, D) of the new positions, their keys and values appended to
  // `cache` ((capacity, 3D), `len` rows filled); no gradients.
  Var forward_cached(Context& ctx, const Var& x, Tensor& cache, int64_t& len);

 private:
  Var residual_branches(Context& ctx, const Var& x, Tensor* cache, int64_t* len);
  int64_t heads_, d_ff_;
  float dropout_;
  uint32_t dropout_index_;
  std::unique_ptr<LayerNorm> ln1_, ln2_;
  std::unique_ptr<Linear> qkv_, proj_, fc1_, fc2_;
};

}  // namespace ty
