#include "models/layers/flatten.h"

#include "models/layer_registry.h"
#include "runtime/ops/ops.h"

namespace ty {

Var Flatten::forward(Context& ctx, const Var& x) { return ops::flatten(ctx, x); }

namespace {
absl::Status build_flatten(LayerBuild&, const LayerSpec&, const std::string&, Sequential& seq) {
  seq.add(std::make_unique<Flatten>(seq.out_shape()));
  return absl::OkStatus();
}
}  // namespace
TY_REGISTER_LAYER("flatten", build_flatten);

}  // namespace ty
