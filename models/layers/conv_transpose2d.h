// ConvTranspose2d: (C, H, W) -> (K, (H - 1) · stride - 2 · padding + kernel + output_padding,
// likewise W), the transpose of a convolution (ops::conv_transpose2d): the upsampling layer of
// a GAN's generator. The weight is (C, K, kernel, kernel), as PyTorch's ConvTranspose2d.
#pragma once

#include "models/layer_registry.h"

namespace ty {

class ConvTranspose2d final : public Layer {
 public:
  ConvTranspose2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel, int64_t stride,
                  int64_t padding, int64_t output_padding, bool bias, DType dtype);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var w_, b_;  // b_ undefined without a bias
  int64_t stride_, padding_, output_padding_;
};

// Appends a transposed convolution (padding -1: (kernel - stride) / 2) to `seq`, checking
// it fits seq's image shape. Errors name `key`.
absl::Status add_conv_transpose2d(LayerBuild& b, const std::string& key, int64_t channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding, bool bias, Sequential& seq);

}  // namespace ty
