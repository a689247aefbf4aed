// Pool2d: (C, H, W) -> (C, P, Q), the maximum or mean of each window.
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Pool2d final : public Layer {
 public:
  Pool2d(const Shape& in, bool max, int64_t size, int64_t stride);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  bool max_;
  int64_t size_, stride_;
};

// Appends a pool of window `size` (stride 0: the size) to `seq`; errors name `key`.
absl::Status add_pool2d(const std::string& key, bool max, int64_t size, int64_t stride, Sequential& seq);

}  // namespace ty
