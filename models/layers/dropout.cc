#include "models/layers/dropout.h"

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

Var Dropout::forward(Context& ctx, const Var& x) { return ops::dropout(ctx, x, p_, training_, index_); }

std::string Dropout::describe() const { return absl::StrCat("dropout ", p_); }

absl::Status add_dropout(LayerBuild& b, const std::string& key, float p, Sequential& seq) {
  if (!(p >= 0.f && p < 1.f))
    return absl::InvalidArgumentError(absl::StrCat(key, ": dropout must be in [0, 1), got ", p));
  if (p > 0.f) seq.add(std::make_unique<Dropout>(seq.out_shape(), p, b.dropout_layers++));
  return absl::OkStatus();
}

namespace {
absl::Status build_dropout(LayerBuild& b, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_dropout(b, key + ".p", l.p, seq);
}
}  // namespace
TY_REGISTER_LAYER("dropout", build_dropout);

}  // namespace ty
