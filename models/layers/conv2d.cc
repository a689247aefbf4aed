#include "models/layers/conv2d.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

Conv2d::Conv2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel, int64_t stride,
               int64_t padding, DType dtype, int64_t max_pool, bool bias)
    : stride_(stride), padding_(padding), max_pool_(max_pool) {
  const double bound = 1.0 / std::sqrt(double(in[0] * kernel * kernel));
  w_ = Var(rng.uniform(ctx, {out_channels, in[0], kernel, kernel}, bound, dtype), true);
  if (bias) b_ = Var(rng.uniform(ctx, {out_channels}, bound, dtype), true);
  conv_shape_ = {out_channels, (in[1] + 2 * padding - kernel) / stride + 1,
                 (in[2] + 2 * padding - kernel) / stride + 1};
  out_shape_ = conv_shape_;
  if (max_pool_ > 0)
    out_shape_ = {out_channels, (conv_shape_[1] - max_pool_) / max_pool_ + 1,
                  (conv_shape_[2] - max_pool_) / max_pool_ + 1};
}

Var Conv2d::forward(Context& ctx, const Var& x) {
  if (max_pool_ == 0) return ops::conv2d(ctx, x, w_, b_, {stride_, padding_});
  Var y = ops::max_pool2d(ctx, ops::conv2d(ctx, x, w_, Var(), {stride_, padding_}), {max_pool_, max_pool_, 0});
  return b_.defined() ? ops::add_channel_bias(ctx, y, b_) : y;
}

std::string Conv2d::describe() const {
  const Shape& w = w_.shape();
  std::string s = absl::StrCat("conv2d ", w[1], " -> ", w[0], " k", w[2], " s", stride_, " p", padding_, " -> ",
                               shape_str(conv_shape_));
  if (!b_.defined()) absl::StrAppend(&s, " (no bias)");
  if (max_pool_ > 0) absl::StrAppend(&s, ", maxpool ", max_pool_, " (bias after it) -> ", shape_str(out_shape_));
  return s;
}

std::vector<std::pair<std::string, Var>> Conv2d::params() {
  if (!b_.defined()) return {{"weight", w_}};
  return {{"weight", w_}, {"bias", b_}};
}

absl::Status add_conv2d(LayerBuild& b, const std::string& key, int64_t channels, int64_t kernel, int64_t stride,
                        int64_t padding, int64_t max_pool, Sequential& seq, bool bias) {
  const Shape in = seq.out_shape();
  if (in.size() != 3)
    return absl::InvalidArgumentError(absl::StrCat(key, ": conv2d needs image input (C, H, W), got ", shape_str(in)));
  if (channels <= 0 || kernel <= 0 || stride <= 0)
    return absl::InvalidArgumentError(absl::StrCat(key, ": channels, kernel and stride must be > 0"));
  if (padding < 0) padding = kernel / 2;
  if (in[1] + 2 * padding < kernel || in[2] + 2 * padding < kernel)
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": kernel ", kernel, " does not fit input ", shape_str(in), " with padding ", padding));
  if (max_pool > 0) {
    const int64_t p = (in[1] + 2 * padding - kernel) / stride + 1, q = (in[2] + 2 * padding - kernel) / stride + 1;
    if (p < max_pool || q < max_pool)
      return absl::InvalidArgumentError(
          absl::StrCat(key, ".pool: pool size ", max_pool, " larger than input ", shape_str({channels, p, q})));
  }
  seq.add(std::make_unique<Conv2d>(b.ctx, b.rng, in, channels, kernel, stride, padding, b.dtype, max_pool, bias));
  return absl::OkStatus();
}

namespace {
absl::Status build_conv2d(LayerBuild& b, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_conv2d(b, key, l.out, l.kernel, l.stride, l.padding, /*max_pool=*/0, seq, l.bias);
}
}  // namespace
TY_REGISTER_LAYER("conv2d", build_conv2d);

}  // namespace ty
