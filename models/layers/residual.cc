#include "models/layers/residual.h"

#include "absl/strings/str_cat.h"
#include "models/layers/conv2d.h"
#include "runtime/ops/ops.h"
#include "runtime/status.h"
#include "worker/job/keys.h"

namespace ty {

Residual::Residual(Context& ctx, InitRng& rng, const Shape& in, std::unique_ptr<Sequential> body, DType dtype)
    : body_(std::move(body)) {
  out_shape_ = body_->out_shape();
  if (out_shape_ != in) {
    CHECK(in.size() == 3 && out_shape_.size() == 3)
        << "residual shortcut from " << shape_str(in) << " to " << shape_str(out_shape_);
    const int64_t stride = std::max<int64_t>(in[1] / out_shape_[1], 1);
    shortcut_ = std::make_unique<Conv2d>(ctx, rng, in, out_shape_[0], 1, stride, 0, dtype);
    CHECK(shortcut_->out_shape() == out_shape_)
        << "residual shortcut gives " << shape_str(shortcut_->out_shape()) << ", body gives " << shape_str(out_shape_);
  }
}

Var Residual::forward(Context& ctx, const Var& x) {
  Var skip = shortcut_ ? shortcut_->forward(ctx, x) : x;
  return ops::add(ctx, body_->forward(ctx, x), skip);
}

std::string Residual::describe() const { return "residual(" + body_->describe() + ")"; }

std::vector<std::pair<std::string, Var>> Residual::params() {
  std::vector<std::pair<std::string, Var>> out;
  add_prefixed(out, "body.", body_->params());
  if (shortcut_) add_prefixed(out, "shortcut.", shortcut_->params());
  return out;
}

std::vector<std::pair<std::string, Tensor>> Residual::buffers() {
  std::vector<std::pair<std::string, Tensor>> out;
  add_prefixed(out, "body.", body_->buffers());
  return out;
}

void Residual::set_training(bool training) {
  Layer::set_training(training);
  body_->set_training(training);
}

absl::Status add_residual(LayerBuild& b, const std::string& key, std::unique_ptr<Sequential> body, Sequential& seq) {
  const Shape in = seq.out_shape(), out = body->out_shape();
  if (in != out) {
    bool ok = in.size() == 3 && out.size() == 3 && out[1] > 0 && in[1] % out[1] == 0 &&
              in[1] / out[1] == in[2] / out[2] && (in[1] - 1) / (in[1] / out[1]) + 1 == out[1];
    if (!ok)
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": residual body maps ", shape_str(in), " to ", shape_str(out),
                       "; a skip connection needs the same shape or a strided change of channels"));
  }
  seq.add(std::make_unique<Residual>(b.ctx, b.rng, in, std::move(body), b.dtype));
  return absl::OkStatus();
}

namespace {
absl::Status build_residual(LayerBuild& b, const LayerSpec& l, const std::string& key, Sequential& seq) {
  auto body = std::make_unique<Sequential>(seq.out_shape());
  TY_RETURN_IF_ERROR(build_layers(b, l.layers, absl::StrCat(key, ".", kResidualBodyKey), *body));
  return add_residual(b, key, std::move(body), seq);
}
}  // namespace
TY_REGISTER_LAYER("residual", build_residual);

}  // namespace ty
