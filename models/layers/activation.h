// Activation: any shape, unchanged; an elementwise function (relu, leaky_relu, gelu, tanh,
// sigmoid).
#pragma once

#include "models/layer_registry.h"
#include "runtime/backend/eltwise_kind.h"

namespace ty {

class Activation final : public Layer {
 public:
  Activation(const Shape& in, Eltwise kind, float alpha = 0.01f);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  Eltwise kind_;
  float alpha_;
};

// Appends `kind` (`slope`: leaky_relu's) to `seq`.
void add_activation(Sequential& seq, ActivationKind kind, float slope = 0.01f);

}  // namespace ty
