// Linear: (D) -> (OUT), y = x W^T + b.
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Linear final : public Layer {
 public:
  Linear(Context& ctx, InitRng& rng, int64_t in, int64_t out, DType dtype, bool bias = true);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var w_, b_;
};

// Appends a linear layer of `out` features to `seq`, flattening an image input first; errors
// name `key`.
absl::Status add_linear(LayerBuild& b, const std::string& key, int64_t out, Sequential& seq);

}  // namespace ty
