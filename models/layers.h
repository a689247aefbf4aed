// The layer kinds models are assembled from. Constructors take the per-sample input shape
// and compute the output shape; make_* functions return an error for impossible shapes.
#pragma once

#include "absl/status/statusor.h"
#include "models/layer.h"
#include "runtime/backend/kernels.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"

namespace ty {

// Parameter initialization: PyTorch's default for Linear/Conv2d, U(-1/sqrt(fan_in), +),
// drawn from Philox(seed, stream) so a seed gives the same model everywhere.
struct InitRng {
  uint64_t seed = 0;
  uint64_t next_stream = 100;
  Tensor uniform(Context& ctx, Shape shape, double bound, DType dtype);
};

// (D) -> (OUT)
class Linear final : public Layer {
 public:
  Linear(Context& ctx, InitRng& rng, int64_t in, int64_t out, DType dtype, bool bias = true);
  Var forward(Context& ctx, const Var& x) override { return ops::linear(ctx, x, w_, b_); }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var w_, b_;
};

// (C, H, W) -> (K, P, Q)
// With `max_pool` > 0 the layer is conv2d then a max pool of that size, the bias added
// after the pool (the same values: a per-channel constant commutes with max) on a
// max_pool^2-times smaller tensor: (C, H, W) -> (K, P / max_pool, Q / max_pool).
class Conv2d final : public Layer {
 public:
  Conv2d(Context& ctx, InitRng& rng, const Shape& in, int64_t out_channels, int64_t kernel, int64_t stride,
         int64_t padding, DType dtype, int64_t max_pool = 0);
  Var forward(Context& ctx, const Var& x) override {
    if (max_pool_ == 0) return ops::conv2d(ctx, x, w_, b_, {stride_, padding_});
    Var y = ops::max_pool2d(ctx, ops::conv2d(ctx, x, w_, Var(), {stride_, padding_}), {max_pool_, max_pool_, 0});
    return ops::add_channel_bias(ctx, y, b_);
  }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var w_, b_;
  int64_t stride_, padding_, max_pool_;
  Shape conv_shape_;  // before the pool
};

// (C, H, W) -> (C, P, Q)
class Pool2d final : public Layer {
 public:
  Pool2d(const Shape& in, bool max, int64_t size, int64_t stride);
  Var forward(Context& ctx, const Var& x) override {
    return max_ ? ops::max_pool2d(ctx, x, {size_, stride_, 0}) : ops::avg_pool2d(ctx, x, {size_, stride_, 0});
  }
  std::string describe() const override;

 private:
  bool max_;
  int64_t size_, stride_;
};

// Any shape, unchanged.
class Activation final : public Layer {
 public:
  Activation(const Shape& in, Eltwise kind, float alpha = 0.01f);
  Var forward(Context& ctx, const Var& x) override { return ops::activation(ctx, x, kind_, alpha_); }
  std::string describe() const override;

 private:
  Eltwise kind_;
  float alpha_;
};

// Any shape, unchanged.
class Dropout final : public Layer {
 public:
  Dropout(const Shape& in, float p) : p_(p) { out_shape_ = in; }
  Var forward(Context& ctx, const Var& x) override { return ops::dropout(ctx, x, p_, training_); }
  std::string describe() const override;

 private:
  float p_;
};

// (C, H, W) -> (C*H*W)
class Flatten final : public Layer {
 public:
  explicit Flatten(const Shape& in) { out_shape_ = {shape_numel(in)}; }
  Var forward(Context& ctx, const Var& x) override { return ops::flatten(ctx, x); }
  std::string describe() const override { return "flatten"; }
};

// (C, ...) unchanged; statistics per channel C.
class BatchNorm final : public Layer {
 public:
  // `sync`: batch statistics over all data-parallel ranks (ops::sync_batch_norm).
  BatchNorm(Context& ctx, const Shape& in, DType dtype, bool sync = false, float momentum = 0.1f, float eps = 1e-5f);
  Var forward(Context& ctx, const Var& x) override {
    return sync_ ? ops::sync_batch_norm(ctx, x, gamma_, beta_, mean_, var_, momentum_, eps_, training_)
                 : ops::batch_norm(ctx, x, gamma_, beta_, mean_, var_, momentum_, eps_, training_);
  }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;

 private:
  Var gamma_, beta_;
  Tensor mean_, var_;
  bool sync_;
  float momentum_, eps_;
};

// (..., D) unchanged; normalized over D.
class LayerNorm final : public Layer {
 public:
  LayerNorm(Context& ctx, const Shape& in, DType dtype, float eps = 1e-5f);
  Var forward(Context& ctx, const Var& x) override { return ops::layer_norm(ctx, x, gamma_, beta_, eps_); }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;

 private:
  Var gamma_, beta_;
  float eps_;
};

// Layers applied in order. Layer i's parameters are named "i.<name>"; a stage cut from a
// longer Sequential keeps the indices of the whole (`first_index`).
class Sequential final : public Layer {
 public:
  explicit Sequential(const Shape& in, size_t first_index = 0) : first_index_(first_index) { out_shape_ = in; }
  void add(LayerPtr layer) {
    layer_inputs_.push_back(out_shape_);
    out_shape_ = layer->out_shape();
    layers_.push_back(std::move(layer));
  }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;
  void set_training(bool training) override;
  size_t size() const { return layers_.size(); }
  // Moves layers [begin, end) into a new Sequential that keeps their indices (and so their
  // parameter names); this one is left without them.
  std::unique_ptr<Sequential> take(size_t begin, size_t end);

 private:
  size_t first_index_;
  std::vector<LayerPtr> layers_;
  std::vector<Shape> layer_inputs_;  // the shape flowing into each layer
};

// y = body(x) + shortcut(x); shortcut is identity or a 1x1 conv when shapes differ.
class Residual final : public Layer {
 public:
  Residual(Context& ctx, InitRng& rng, const Shape& in, std::unique_ptr<Sequential> body, DType dtype);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;
  void set_training(bool training) override;

 private:
  std::unique_ptr<Sequential> body_;
  LayerPtr shortcut_;  // (optional)
};

}  // namespace ty
