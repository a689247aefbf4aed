// Layer: one differentiable block of a model. Layers are built for a known input shape
// (per sample, without the batch dimension), so a spec with impossible shapes fails while
// the model is built, before any training. Each layer type is one file in models/layers/
// that registers its builder (layer_registry.h).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/autograd.h"

namespace ty {

using Vars = std::vector<Var>;

class Layer {
 public:
  virtual ~Layer() = default;
  // A layer implements one of the two forms (each defaults to the other):
  // x: (N, in_shape...) -> (N, out_shape...), the one-tensor form most layers have;
  virtual Var forward(Context& ctx, const Var& x);
  // xs -> ys, each (N, shape...): several tensors in and out (a layer that takes a mask or
  // an encoder's memory besides its input; a pipeline stage handing on several).
  virtual Vars apply(Context& ctx, const Vars& xs);
  virtual std::string describe() const = 0;
  // Per sample: the (first) output's shape, and every output's.
  const Shape& out_shape() const { return out_shape_; }
  virtual std::vector<Shape> out_shapes() const { return {out_shape_}; }
  // Trainable parameters, with names relative to the layer.
  virtual std::vector<std::pair<std::string, Var>> params() { return {}; }
  // Non-trainable state saved with the weights (batch norm running statistics).
  virtual std::vector<std::pair<std::string, Tensor>> buffers() { return {}; }
  virtual void set_training(bool training) { training_ = training; }
  // Per sample, the elements this layer's outputs hold (its inner tensors too, where it has
  // them): for the memory a batch takes while training.
  virtual int64_t activation_numel() const { return shape_numel(out_shape_); }
  // Whether the layer's parameters are embedding tables (which weight decay skips).
  virtual bool embeds() const { return false; }

 protected:
  Shape out_shape_;
  bool training_ = true;
};

using LayerPtr = std::unique_ptr<Layer>;

// Parameter initialization: PyTorch's default for Linear/Conv2d, U(-1/sqrt(fan_in), +), and
// normal draws, from Philox(seed, stream) so a seed gives the same model everywhere.
struct InitRng {
  uint64_t seed = 0;
  uint64_t next_stream = 100;
  Tensor uniform(Context& ctx, Shape shape, double bound, DType dtype);
  // N(0, std²): token embeddings (PyTorch's nn.Embedding: std 1; GPT-style models 0.02).
  Tensor normal(Context& ctx, Shape shape, double std, DType dtype);
};

}  // namespace ty
