// Linear: (D) -> (OUT), y = x W^T + b; or per position of a sequence, (L, D) -> (L, OUT).
// TiedLinear: the same with another layer's weight (a language model's logits from its
// token embedding table), no bias.
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Linear final : public Layer {
 public:
  // `lead`: per-sample leading dimensions the layer maps over ({L} for a sequence).
  Linear(Context& ctx, InitRng& rng, int64_t in, int64_t out, DType dtype, bool bias = true, Shape lead = {});
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var w_, b_;
};

class TiedLinear final : public Layer {
 public:
  // weight: (OUT, D), owned (and named, and saved) by another layer of the model.
  TiedLinear(Var weight, Shape lead);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  Var w_;
};

// x: (N, lead..., D) through linear(w, b) on its last axis -> (N, lead..., OUT).
Var linear_on_last_axis(Context& ctx, const Var& x, const Var& w, const Var& b);

// Appends a linear layer of `out` features to `seq`, flattening an image input first; errors
// name `key`.
absl::Status add_linear(LayerBuild& b, const std::string& key, int64_t out, Sequential& seq);

}  // namespace ty
