// Dropout: any shape, unchanged; zeroes elements with probability p while training. Each
// dropout layer of a model has an index among them (in build order, so the same on every
// pipeline stage), which keys its masks (ops::dropout).
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Dropout final : public Layer {
 public:
  Dropout(const Shape& in, float p, uint32_t index) : p_(p), index_(index) { out_shape_ = in; }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  float p_;
  uint32_t index_;
};

// Appends dropout with probability `p` (none at 0) to `seq`, numbered by b.dropout_layers;
// errors name `key`.
absl::Status add_dropout(LayerBuild& b, const std::string& key, float p, Sequential& seq);

}  // namespace ty
