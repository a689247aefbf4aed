#include "models/layers/batch_norm.h"

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

BatchNorm::BatchNorm(Context& ctx, const Shape& in, DType dtype, bool sync, float momentum, float eps)
    : sync_(sync), momentum_(momentum), eps_(eps) {
  const int64_t c = in[0];
  Tensor g = ctx.empty({c}, dtype), b = ctx.empty({c}, dtype);
  g.fill(1.0);
  b.fill(0.0);
  gamma_ = Var(g, true);
  beta_ = Var(b, true);
  mean_ = ctx.zeros({c}, dtype);
  var_ = ctx.empty({c}, dtype);
  var_.fill(1.0);
  out_shape_ = in;
}

Var BatchNorm::forward(Context& ctx, const Var& x) {
  return sync_ ? ops::sync_batch_norm(ctx, x, gamma_, beta_, mean_, var_, momentum_, eps_, training_)
               : ops::batch_norm(ctx, x, gamma_, beta_, mean_, var_, momentum_, eps_, training_);
}

std::string BatchNorm::describe() const {
  return absl::StrCat(sync_ ? "sync batchnorm " : "batchnorm ", gamma_.shape()[0]);
}

std::vector<std::pair<std::string, Var>> BatchNorm::params() { return {{"weight", gamma_}, {"bias", beta_}}; }

std::vector<std::pair<std::string, Tensor>> BatchNorm::buffers() {
  return {{"running_mean", mean_}, {"running_var", var_}};
}

void add_batch_norm(LayerBuild& b, Sequential& seq) {
  seq.add(std::make_unique<BatchNorm>(b.ctx, seq.out_shape(), b.dtype, b.sync_batch_norm));
}

namespace {
absl::Status build_batchnorm(LayerBuild& b, const LayerSpec&, const std::string&, Sequential& seq) {
  add_batch_norm(b, seq);
  return absl::OkStatus();
}
}  // namespace
TY_REGISTER_LAYER("batchnorm", build_batchnorm);

}  // namespace ty
