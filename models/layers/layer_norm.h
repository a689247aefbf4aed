// LayerNorm: (..., D) unchanged; each sample normalized over its last axis D.
#pragma once

#include "models/layer.h"

namespace ty {

class LayerNorm final : public Layer {
 public:
  LayerNorm(Context& ctx, const Shape& in, DType dtype, float eps = 1e-5f);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var gamma_, beta_;
  float eps_;
};

}  // namespace ty
