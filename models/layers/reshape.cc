#include "models/layers/reshape.h"

#include "absl/strings/str_cat.h"
#include "models/layer_registry.h"
#include "runtime/ops/ops.h"

namespace ty {

Var Reshape::forward(Context& ctx, const Var& x) {
  Shape s{x.shape()[0]};
  s.insert(s.end(), out_shape_.begin(), out_shape_.end());
  return ops::reshape(ctx, x, s);
}

namespace {
absl::Status build_reshape(LayerBuild&, const LayerSpec& l, const std::string& key, Sequential& seq) {
  const Shape out(l.shape.begin(), l.shape.end());
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(key, ".shape: required, e.g. [128, 7, 7]"));
  if (shape_numel(out) != shape_numel(seq.out_shape()))
    return absl::InvalidArgumentError(absl::StrCat(key, ".shape: ", shape_str(out), " holds ", shape_numel(out),
                                                   " elements; the input ", shape_str(seq.out_shape()), " holds ",
                                                   shape_numel(seq.out_shape())));
  seq.add(std::make_unique<Reshape>(out));
  return absl::OkStatus();
}
}  // namespace
TY_REGISTER_LAYER("reshape", build_reshape);

}  // namespace ty
