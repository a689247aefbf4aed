// Residual: y = body(x) + shortcut(x); the shortcut is the identity, or a 1x1 convolution
// where the body changes the shape (channels, and a stride).
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Residual final : public Layer {
 public:
  Residual(Context& ctx, InitRng& rng, const Shape& in, std::unique_ptr<Sequential> body, DType dtype);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override {
    return body_->activation_numel() + (shortcut_ ? shortcut_->activation_numel() : 0) + shape_numel(out_shape_);
  }

 private:
  std::unique_ptr<Sequential> body_;
  LayerPtr shortcut_;  // (optional)
};

// Appends a residual around `body` (built for seq's output shape) to `seq`, checking that a
// skip connection can join the shapes; errors name `key`.
absl::Status add_residual(LayerBuild& b, const std::string& key, std::unique_ptr<Sequential> body, Sequential& seq);

}  // namespace ty
