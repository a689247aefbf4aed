#include "models/layers/pool2d.h"

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

Pool2d::Pool2d(const Shape& in, bool max, int64_t size, int64_t stride)
    : max_(max), size_(size), stride_(stride > 0 ? stride : size) {
  out_shape_ = {in[0], (in[1] - size) / stride_ + 1, (in[2] - size) / stride_ + 1};
}

Var Pool2d::forward(Context& ctx, const Var& x) {
  return max_ ? ops::max_pool2d(ctx, x, {size_, stride_, 0}) : ops::avg_pool2d(ctx, x, {size_, stride_, 0});
}

std::string Pool2d::describe() const {
  return absl::StrCat(max_ ? "maxpool " : "avgpool ", size_, " -> ", shape_str(out_shape_));
}

absl::Status add_pool2d(const std::string& key, bool max, int64_t size, int64_t stride, Sequential& seq) {
  const Shape in = seq.out_shape();
  if (in.size() != 3)
    return absl::InvalidArgumentError(absl::StrCat(key, ": pooling needs image input (C, H, W), got ", shape_str(in)));
  if (size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": pool size must be > 0"));
  if (in[1] < size || in[2] < size)
    return absl::InvalidArgumentError(absl::StrCat(key, ": pool size ", size, " larger than input ", shape_str(in)));
  seq.add(std::make_unique<Pool2d>(in, max, size, stride));
  return absl::OkStatus();
}

namespace {
// A layer's `stride: 1` (the default) means the pool's size.
absl::Status build_maxpool(LayerBuild&, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_pool2d(key, true, l.size, l.stride == 1 ? 0 : l.stride, seq);
}
absl::Status build_avgpool(LayerBuild&, const LayerSpec& l, const std::string& key, Sequential& seq) {
  return add_pool2d(key, false, l.size, l.stride == 1 ? 0 : l.stride, seq);
}
}  // namespace
TY_REGISTER_LAYER("maxpool", build_maxpool);
TY_REGISTER_LAYER("avgpool", build_avgpool);

}  // namespace ty
