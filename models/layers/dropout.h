// Dropout: any shape, unchanged; zeroes elements with probability p while training.
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Dropout final : public Layer {
 public:
  Dropout(const Shape& in, float p) : p_(p) { out_shape_ = in; }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  float p_;
};

// Appends dropout with probability `p` (none at 0) to `seq`; errors name `key`.
absl::Status add_dropout(const std::string& key, float p, Sequential& seq);

}  // namespace ty
