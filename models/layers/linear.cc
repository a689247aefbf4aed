#include "models/layers/linear.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "models/layers/flatten.h"
#include "runtime/ops/ops.h"

namespace ty {

Linear::Linear(Context& ctx, InitRng& rng, int64_t in, int64_t out, DType dtype, bool bias, Shape lead) {
  const double bound = 1.0 / std::sqrt(double(in));
  w_ = Var(rng.uniform(ctx, {out, in}, bound, dtype), true);
  if (bias) b_ = Var(rng.uniform(ctx, {out}, bound, dtype), true);
  out_shape_ = std::move(lead);
  out_shape_.push_back(out);
}

Var linear_on_last_axis(Context& ctx, const Var& x, const Var& w, const Var& b) {
  if (x.shape().size() == 2) return ops::linear(ctx, x, w, b);
  const int64_t d = x.shape().back();
  Shape out = x.shape();
  out.back() = w.shape()[0];
  Var y = ops::linear(ctx, ops::reshape(ctx, x, {x.value().numel() / d, d}), w, b);
  return ops::reshape(ctx, y, out);
}

Var Linear::forward(Context& ctx, const Var& x) { return linear_on_last_axis(ctx, x, w_, b_); }

std::string Linear::describe() const { return absl::StrCat("linear ", w_.shape()[1], " -> ", w_.shape()[0]); }

TiedLinear::TiedLinear(Var weight, Shape lead) : w_(std::move(weight)) {
  out_shape_ = std::move(lead);
  out_shape_.push_back(w_.shape()[0]);
}

Var TiedLinear::forward(Context& ctx, const Var& x) { return linear_on_last_axis(ctx, x, w_, Var()); }

std::string TiedLinear::describe() const {
  return absl::StrCat("linear ", w_.shape()[1], " -> ", w_.shape()[0], " (tied to the embedding)");
}

std::vector<std::pair<std::string, Var>> Linear::params() {
  std::vector<std::pair<std::string, Var>> p{{"weight", w_}};
  if (b_.defined()) p.emplace_back("bias", b_);
  return p;
}

absl::Status add_linear(LayerBuild& b, const std::string& key, int64_t out, Sequential& seq) {
  if (out <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": output size must be > 0, got ", out));
  if (seq.out_shape().size() != 1) seq.add(std::make_unique<Flatten>(seq.out_shape()));
  seq.add(std::make_unique<Linear>(b.ctx, b.rng, seq.out_shape()[0], out, b.dtype));
  return absl::OkStatus();
}

namespace {
absl::Status build_linear(LayerBuild& b, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_linear(b, key + ".out", l.out, seq);
}
}  // namespace
TY_REGISTER_LAYER("linear", build_linear);

}  // namespace ty
