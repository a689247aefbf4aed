#include "models/layers.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {
namespace {

const char* eltwise_name(Eltwise k) {
  switch (k) {
    case Eltwise::kRelu: return "relu";
    case Eltwise::kLeakyRelu: return "leaky_relu";
    case Eltwise::kGelu: return "gelu";
    case Eltwise::kTanh: return "tanh";
    case Eltwise::kSigmoid: return "sigmoid";
  }
  return "?";
}

void prefix_params(std::vector<std::pair<std::string, Var>>& out, const std::string& prefix,
                   std::vector<std::pair<std::string, Var>> in) {
  for (auto& [name, v] : in) out.emplace_back(prefix + name, v);
}

void prefix_buffers(std::vector<std::pair<std::string, Tensor>>& out, const std::string& prefix,
                    std::vector<std::pair<std::string, Tensor>> in) {
  for (auto& [name, t] : in) out.emplace_back(prefix + name, t);
}

}  // namespace

Tensor InitRng::uniform(Context& ctx, Shape shape, double bound, DType dtype) {
  // Drawn on the host (the same numbers on every device), then moved to ctx's device.
  Tensor t = Tensor::empty(std::move(shape), dtype);
  Philox rng(seed, next_stream++);
  for (int64_t i = 0, n = t.numel(); i < n; ++i) t.set(i, (2.0 * rng.uniform(i) - 1.0) * bound);
  return ctx.to_device(t);
}

Linear::Linear(Context& ctx, InitRng& rng, int64_t in, int64_t out, DType dtype, bool bias) {
  const double bound = 1.0 / std::sqrt(double(in));
  w_ = Var(rng.uniform(ctx, {out, in}, bound, dtype), true);
  if (bias) b_ = Var(rng.uniform(ctx, {out}, bound, dtype), true);
  out_shape_ = {out};
}

std::string Linear::describe() const { return absl::StrCat("linear ", w_.shape()[1], " -> ", w_.shape()[0]); }

std::vector<std::pair<std::string, Var>> Linear::params() {
  std::vector<std::pair<std::string, Var>> p{{"weight", w_}};
  if (b_.defined()) p.emplace_back("bias", b_);
  return p;
}

Conv2d::Conv2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel, int64_t stride,
               int64_t padding, DType dtype, int64_t max_pool)
    : stride_(stride), padding_(padding), max_pool_(max_pool) {
  const double bound = 1.0 / std::sqrt(double(in[0] * kernel * kernel));
  w_ = Var(rng.uniform(ctx, {out_channels, in[0], kernel, kernel}, bound, dtype), true);
  b_ = Var(rng.uniform(ctx, {out_channels}, bound, dtype), true);
  conv_shape_ = {out_channels, (in[1] + 2 * padding - kernel) / stride + 1,
                 (in[2] + 2 * padding - kernel) / stride + 1};
  out_shape_ = conv_shape_;
  if (max_pool_ > 0)
    out_shape_ = {out_channels, (conv_shape_[1] - max_pool_) / max_pool_ + 1,
                  (conv_shape_[2] - max_pool_) / max_pool_ + 1};
}

std::string Conv2d::describe() const {
  const Shape& w = w_.shape();
  std::string s = absl::StrCat("conv2d ", w[1], " -> ", w[0], " k", w[2], " s", stride_, " p", padding_, " -> ",
                               shape_str(conv_shape_));
  if (max_pool_ > 0) absl::StrAppend(&s, ", maxpool ", max_pool_, " (bias after it) -> ", shape_str(out_shape_));
  return s;
}

std::vector<std::pair<std::string, Var>> Conv2d::params() { return {{"weight", w_}, {"bias", b_}}; }

Pool2d::Pool2d(const Shape& in, bool max, int64_t size, int64_t stride)
    : max_(max), size_(size), stride_(stride > 0 ? stride : size) {
  out_shape_ = {in[0], (in[1] - size) / stride_ + 1, (in[2] - size) / stride_ + 1};
}

std::string Pool2d::describe() const {
  return absl::StrCat(max_ ? "maxpool " : "avgpool ", size_, " -> ", shape_str(out_shape_));
}

Activation::Activation(const Shape& in, Eltwise kind, float alpha) : kind_(kind), alpha_(alpha) { out_shape_ = in; }

std::string Activation::describe() const { return eltwise_name(kind_); }

std::string Dropout::describe() const { return absl::StrCat("dropout ", p_); }

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

std::string BatchNorm::describe() const {
  return absl::StrCat(sync_ ? "sync batchnorm " : "batchnorm ", gamma_.shape()[0]);
}

std::vector<std::pair<std::string, Var>> BatchNorm::params() { return {{"weight", gamma_}, {"bias", beta_}}; }

std::vector<std::pair<std::string, Tensor>> BatchNorm::buffers() {
  return {{"running_mean", mean_}, {"running_var", var_}};
}

LayerNorm::LayerNorm(Context& ctx, const Shape& in, DType dtype, float eps) : eps_(eps) {
  const int64_t d = in.back();
  Tensor g = ctx.empty({d}, dtype), b = ctx.empty({d}, dtype);
  g.fill(1.0);
  b.fill(0.0);
  gamma_ = Var(g, true);
  beta_ = Var(b, true);
  out_shape_ = in;
}

std::string LayerNorm::describe() const { return absl::StrCat("layernorm ", gamma_.shape()[0]); }

std::vector<std::pair<std::string, Var>> LayerNorm::params() { return {{"weight", gamma_}, {"bias", beta_}}; }

Var Sequential::forward(Context& ctx, const Var& x) {
  Var h = x;
  for (auto& l : layers_) h = l->forward(ctx, h);
  return h;
}

std::string Sequential::describe() const {
  std::vector<std::string> parts;
  for (const auto& l : layers_) parts.push_back(l->describe());
  return absl::StrJoin(parts, ", ");
}

std::vector<std::pair<std::string, Var>> Sequential::params() {
  std::vector<std::pair<std::string, Var>> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    prefix_params(out, absl::StrCat(first_index_ + i, "."), layers_[i]->params());
  return out;
}

std::vector<std::pair<std::string, Tensor>> Sequential::buffers() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    prefix_buffers(out, absl::StrCat(first_index_ + i, "."), layers_[i]->buffers());
  return out;
}

std::unique_ptr<Sequential> Sequential::take(size_t begin, size_t end) {
  CHECK(begin <= end && end <= layers_.size()) << "layers [" << begin << ", " << end << ") of " << layers_.size();
  // The shapes were recorded as the layers were added: earlier stages may be taken already.
  auto stage = std::make_unique<Sequential>(begin < layer_inputs_.size() ? layer_inputs_[begin] : out_shape_,
                                            first_index_ + begin);
  for (size_t i = begin; i < end; ++i) stage->add(std::move(layers_[i]));
  return stage;
}

void Sequential::set_training(bool training) {
  Layer::set_training(training);
  for (auto& l : layers_) l->set_training(training);
}

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
  prefix_params(out, "body.", body_->params());
  if (shortcut_) prefix_params(out, "shortcut.", shortcut_->params());
  return out;
}

std::vector<std::pair<std::string, Tensor>> Residual::buffers() {
  std::vector<std::pair<std::string, Tensor>> out;
  prefix_buffers(out, "body.", body_->buffers());
  return out;
}

void Residual::set_training(bool training) {
  Layer::set_training(training);
  body_->set_training(training);
}

}  // namespace ty
