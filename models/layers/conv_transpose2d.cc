#include "models/layers/conv_transpose2d.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

ConvTranspose2d::ConvTranspose2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel,
                                 int64_t stride, int64_t padding, int64_t output_padding, bool bias, DType dtype)
    : stride_(stride), padding_(padding), output_padding_(output_padding) {
  // PyTorch's default: U(±1/sqrt(fan_in)), its fan_in taken from the weight's dimension 1
  // (the output channels) times the kernel's area.
  const double bound = 1.0 / std::sqrt(double(out_channels * kernel * kernel));
  w_ = Var(rng.uniform(ctx, {in[0], out_channels, kernel, kernel}, bound, dtype), true);
  if (bias) b_ = Var(rng.uniform(ctx, {out_channels}, bound, dtype), true);
  out_shape_ = {out_channels, (in[1] - 1) * stride - 2 * padding + kernel + output_padding,
                (in[2] - 1) * stride - 2 * padding + kernel + output_padding};
}

Var ConvTranspose2d::forward(Context& ctx, const Var& x) {
  return ops::conv_transpose2d(ctx, x, w_, b_, {stride_, padding_, output_padding_});
}

std::string ConvTranspose2d::describe() const {
  const Shape& w = w_.shape();
  return absl::StrCat("conv_transpose2d ", w[0], " -> ", w[1], " k", w[2], " s", stride_, " p", padding_,
                      output_padding_ ? absl::StrCat(" op", output_padding_) : "", b_.defined() ? "" : " (no bias)",
                      " -> ", shape_str(out_shape_));
}

std::vector<std::pair<std::string, Var>> ConvTranspose2d::params() {
  if (!b_.defined()) return {{"weight", w_}};
  return {{"weight", w_}, {"bias", b_}};
}

absl::Status add_conv_transpose2d(LayerBuild& b, const std::string& key, int64_t channels, int64_t kernel,
                                  int64_t stride, int64_t padding, int64_t output_padding, bool bias, Sequential& seq) {
  const Shape in = seq.out_shape();
  if (in.size() != 3)
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": conv_transpose2d needs image input (C, H, W), got ", shape_str(in)));
  if (channels <= 0 || kernel <= 0 || stride <= 0)
    return absl::InvalidArgumentError(absl::StrCat(key, ": out, kernel and stride must be > 0"));
  if (padding < 0) padding = std::max<int64_t>(kernel - stride, 0) / 2;
  if (output_padding >= stride)
    return absl::InvalidArgumentError(
        absl::StrCat(key, ".output_padding: ", output_padding, " must be below the stride ", stride));
  const int64_t h = (in[1] - 1) * stride - 2 * padding + kernel + output_padding;
  const int64_t w = (in[2] - 1) * stride - 2 * padding + kernel + output_padding;
  if (h <= 0 || w <= 0)
    return absl::InvalidArgumentError(
        absl::StrCat(key, ".padding: ", padding, " leaves no output for input ", shape_str(in), " and kernel ", kernel));
  seq.add(std::make_unique<ConvTranspose2d>(b.ctx, b.rng, in, channels, kernel, stride, padding, output_padding, bias,
                                            b.dtype));
  return absl::OkStatus();
}

namespace {
absl::Status build_conv_transpose2d(LayerBuild& b, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_conv_transpose2d(b, key, l.out, l.kernel, l.stride, l.padding, l.output_padding, l.bias, seq);
}
}  // namespace
TY_REGISTER_LAYER("conv_transpose2d", build_conv_transpose2d);

}  // namespace ty
