// Conv2d: (C, H, W) -> (K, P, Q). With `max_pool` > 0 the layer is conv2d then a max pool of
// that size, the bias added after the pool (the same values: a per-channel constant commutes
// with max) on a max_pool^2-times smaller tensor: (C, H, W) -> (K, P / max_pool, Q / max_pool).
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Conv2d final : public Layer {
 public:
  Conv2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel, int64_t stride,
         int64_t padding, DType dtype, int64_t max_pool = 0, bool bias = true);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  int64_t activation_numel() const override {
    return shape_numel(out_shape_) + (max_pool_ > 0 ? shape_numel(conv_shape_) : 0);
  }

 private:
  Var w_, b_;  // b_ undefined without a bias
  int64_t stride_, padding_, max_pool_;
  Shape conv_shape_;  // before the pool
};

// Appends a convolution (padding -1: same) to `seq`, checking it fits seq's image shape;
// `max_pool` > 0 fuses a max pool of that size. Errors name `key`.
absl::Status add_conv2d(LayerBuild& b, const std::string& key, int64_t channels, int64_t kernel, int64_t stride,
                        int64_t padding, int64_t max_pool, Sequential& seq, bool bias = true);

}  // namespace ty
