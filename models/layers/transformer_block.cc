#include "models/layers/transformer_block.h"

#include "absl/strings/str_cat.h"
#include "models/layers/sequential.h"
#include "runtime/ops/ops.h"

namespace ty {

TransformerBlock::TransformerBlock(Context& ctx, InitRng& rng, const Shape& in, int64_t heads, int64_t d_ff,
                                   float dropout, uint32_t dropout_index, DType dtype)
    : heads_(heads), d_ff_(d_ff), dropout_(dropout), dropout_index_(dropout_index) {
  CHECK_EQ(in.size(), 2u) << "a transformer block takes (T, D) sequences, got " << shape_str(in);
  const int64_t t = in[0], d = in[1];
  ln1_ = std::make_unique<LayerNorm>(ctx, in, dtype);
  qkv_ = std::make_unique<Linear>(ctx, rng, d, 3 * d, dtype, true, Shape{t});
  proj_ = std::make_unique<Linear>(ctx, rng, d, d, dtype, true, Shape{t});
  ln2_ = std::make_unique<LayerNorm>(ctx, in, dtype);
  fc1_ = std::make_unique<Linear>(ctx, rng, d, d_ff, dtype, true, Shape{t});
  fc2_ = std::make_unique<Linear>(ctx, rng, d_ff, d, dtype, true, Shape{t});
  out_shape_ = in;
}

Var TransformerBlock::residual_branches(Context& ctx, const Var& x, Tensor* cache, int64_t* len) {
  const Var qkv = qkv_->forward(ctx, ln1_->forward(ctx, x));
  const Var att = cache ? Var(ops::cached_causal_self_attention(ctx, qkv.value(), heads_, *cache, *len))
                        : ops::causal_self_attention(ctx, qkv, heads_);
  Var h = ops::add(ctx, x, ops::dropout(ctx, proj_->forward(ctx, att), dropout_, training_, dropout_index_));
  const Var mlp = fc2_->forward(ctx, ops::gelu(ctx, fc1_->forward(ctx, ln2_->forward(ctx, h))));
  return ops::add(ctx, h, ops::dropout(ctx, mlp, dropout_, training_, dropout_index_ + 1));
}

Var TransformerBlock::forward(Context& ctx, const Var& x) { return residual_branches(ctx, x, nullptr, nullptr); }

Var TransformerBlock::forward_cached(Context& ctx, const Var& x, Tensor& cache, int64_t& len) {
  return residual_branches(ctx, x, &cache, &len);
}

std::string TransformerBlock::describe() const {
  return absl::StrCat("transformer block ", out_shape_[1], ", ", heads_, " heads, mlp ", d_ff_);
}

std::vector<std::pair<std::string, Var>> TransformerBlock::params() {
  std::vector<std::pair<std::string, Var>> out;
  add_prefixed(out, "ln1.", ln1_->params());
  add_prefixed(out, "qkv.", qkv_->params());
  add_prefixed(out, "proj.", proj_->params());
  add_prefixed(out, "ln2.", ln2_->params());
  add_prefixed(out, "fc1.", fc1_->params());
  add_prefixed(out, "fc2.", fc2_->params());
  return out;
}

void TransformerBlock::set_training(bool training) {
  Layer::set_training(training);
  for (Layer* l :
       std::initializer_list<Layer*>{ln1_.get(), qkv_.get(), proj_.get(), ln2_.get(), fc1_.get(), fc2_.get()})
    l->set_training(training);
}

int64_t TransformerBlock::activation_numel() const {
  const int64_t t = out_shape_[0], d = out_shape_[1];
  // norms, qkv, q/k/v per head, weights (T × T per head), attention out, projection,
  // residual, MLP hidden (twice: before and after GELU), MLP out, residual.
  return t * (2 * d + 3 * d + 3 * d + heads_ * t + 2 * d + d + 2 * d_ff_ + 2 * d);
}

}  // namespace ty
