#include "models/layers/layer_norm.h"

#include "absl/strings/str_cat.h"
#include "models/layer_registry.h"
#include "runtime/ops/ops.h"

namespace ty {

LayerNorm::LayerNorm(Context& ctx, const Shape& in, DType dtype, float eps) : eps_(eps) {
  const int64_t d = in.back();
  Tensor g = ctx.empty({d}, dtype), b = ctx.empty({d}, dtype);
  g.fill(1.0);
  b.fill(0.0);
  gamma_ = Var(g, true);
  beta_ = Var(b, true);
  out_shape_ = in;
}

Var LayerNorm::forward(Context& ctx, const Var& x) { return ops::layer_norm(ctx, x, gamma_, beta_, eps_); }

std::string LayerNorm::describe() const { return absl::StrCat("layernorm ", gamma_.shape()[0]); }

std::vector<std::pair<std::string, Var>> LayerNorm::params() { return {{"weight", gamma_}, {"bias", beta_}}; }

namespace {
absl::Status build_layernorm(LayerBuild& b, const LayerSpec&, const std::string&, Sequential& seq) {
  seq.add(std::make_unique<LayerNorm>(b.ctx, seq.out_shape(), b.dtype));
  return absl::OkStatus();
}
}  // namespace
TY_REGISTER_LAYER("layernorm", build_layernorm);

}  // namespace ty
