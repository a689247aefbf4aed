// BatchNorm: (C, ...) unchanged; statistics per channel C over the batch (`sync`: over the
// batches of all data-parallel ranks, ops::sync_batch_norm).
#pragma once

#include "models/layer_registry.h"

namespace ty {

class BatchNorm final : public Layer {
 public:
  BatchNorm(Context& ctx, const Shape& in, DType dtype, bool sync = false, float momentum = 0.1f, float eps = 1e-5f);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;

 private:
  Var gamma_, beta_;
  Tensor mean_, var_;
  bool sync_;
  float momentum_, eps_;
};

// Appends batch norm over seq's channels (model.sync_batch_norm decides `sync`).
void add_batch_norm(LayerBuild& b, Sequential& seq);

}  // namespace ty
