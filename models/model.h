// Model: the network built from a ModelSpec for a given input shape and output count,
// with named parameters and buffers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/layers.h"
#include "worker/job/spec.h"

namespace ty {

class Model {
 public:
  explicit Model(std::unique_ptr<Sequential> net) : net_(std::move(net)) {}
  // x: (N, input_shape...) -> (N, outputs)
  Var forward(Context& ctx, const Var& x) { return net_->forward(ctx, x); }
  void set_training(bool training) { net_->set_training(training); }
  std::vector<std::pair<std::string, Var>> named_params() { return net_->params(); }
  std::vector<Var> params();
  std::vector<std::pair<std::string, Tensor>> buffers() { return net_->buffers(); }
  // Every saved tensor: parameters then buffers, by name.
  std::vector<std::pair<std::string, Tensor>> state();
  int64_t num_params();
  std::string describe() const { return net_->describe(); }

 private:
  std::unique_ptr<Sequential> net_;
};

// Builds the model for samples of `input_shape` ((D) or (C, H, W)) and `outputs` logits.
// Errors name the spec key and the shapes that do not fit.
absl::StatusOr<std::unique_ptr<Model>> build_model(Context& ctx, const ModelSpec& spec, const Shape& input_shape,
                                                   int64_t outputs, uint64_t seed, DType dtype = DType::kF32);

}  // namespace ty
