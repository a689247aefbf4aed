// Layer: one differentiable block of a model. Layers are built for a known input shape
// (per sample, without the batch dimension), so a spec with impossible shapes fails while
// the model is built, before any training.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/autograd.h"

namespace ty {

class Layer {
 public:
  virtual ~Layer() = default;
  // x: (N, in_shape...) -> (N, out_shape...)
  virtual Var forward(Context& ctx, const Var& x) = 0;
  virtual std::string describe() const = 0;
  const Shape& out_shape() const { return out_shape_; }
  // Trainable parameters, with names relative to the layer.
  virtual std::vector<std::pair<std::string, Var>> params() { return {}; }
  // Non-trainable state saved with the weights (batch norm running statistics).
  virtual std::vector<std::pair<std::string, Tensor>> buffers() { return {}; }
  virtual void set_training(bool training) { training_ = training; }

 protected:
  Shape out_shape_;
  bool training_ = true;
};

using LayerPtr = std::unique_ptr<Layer>;

}  // namespace ty
