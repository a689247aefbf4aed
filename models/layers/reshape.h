// Reshape: (...) -> (shape...), the same elements per sample in the same order (a GAN's
// generator turns its latent vector's projection into an image this way).
#pragma once

#include "models/layer.h"

namespace ty {

class Reshape final : public Layer {
 public:
  explicit Reshape(const Shape& out) { out_shape_ = out; }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override { return "reshape -> " + shape_str(out_shape_); }
  int64_t activation_numel() const override { return 0; }  // a view of its input
};

}  // namespace ty
