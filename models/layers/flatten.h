// Flatten: (C, H, W) -> (C*H*W).
#pragma once

#include "models/layer.h"

namespace ty {

class Flatten final : public Layer {
 public:
  explicit Flatten(const Shape& in) { out_shape_ = {shape_numel(in)}; }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override { return "flatten"; }
  int64_t activation_numel() const override { return 0; }  // a view of its input
};

}  // namespace ty
