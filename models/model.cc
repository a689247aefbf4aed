#include "models/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {

Model::Model(std::unique_ptr<Sequential> net, std::string name) : net_(std::move(net)), name_(std::move(name)) {
  for (auto& [path, v] : net_->params()) v.state()->name = qualified(path);
}

std::vector<std::pair<std::string, Var>> Model::named_params() {
  auto out = net_->params();
  for (auto& [path, v] : out) path = qualified(path);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Model::buffers() {
  auto out = net_->buffers();
  for (auto& [path, t] : out) path = qualified(path);
  return out;
}

absl::StatusOr<std::vector<std::unique_ptr<Model>>> Model::cut(std::unique_ptr<Model> whole,
                                                               const std::vector<size_t>& cuts) {
  const size_t n = whole->num_layers();
  for (size_t i = 0; i < cuts.size(); ++i)
    if (cuts[i] == 0 || cuts[i] >= n || (i > 0 && cuts[i] <= cuts[i - 1]))
      return absl::InvalidArgumentError(absl::StrCat("cut points must ascend within (0, ", n,
                                                     ") so that no stage is empty; cut ", i, " is ", cuts[i]));
  std::vector<std::unique_ptr<Model>> stages;
  size_t begin = 0;
  for (size_t s = 0; s <= cuts.size(); ++s) {
    const size_t end = s < cuts.size() ? cuts[s] : n;
    stages.push_back(std::make_unique<Model>(whole->net_->take(begin, end), whole->name_));
    begin = end;
  }
  return stages;
}

std::vector<Var> Model::params() {
  std::vector<Var> out;
  for (auto& [name, v] : named_params()) out.push_back(v);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Model::state() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, v] : named_params()) out.emplace_back(name, v.value());
  for (auto& b : buffers()) out.push_back(b);
  return out;
}

int64_t Model::num_params() {
  int64_t n = 0;
  for (auto& [name, v] : named_params()) n += v.value().numel();
  return n;
}

namespace {

Eltwise eltwise_of(ActivationKind a) {
  switch (a) {
    case ActivationKind::kRelu: return Eltwise::kRelu;
    case ActivationKind::kLeakyRelu: return Eltwise::kLeakyRelu;
    case ActivationKind::kGelu: return Eltwise::kGelu;
    case ActivationKind::kTanh: return Eltwise::kTanh;
    case ActivationKind::kSigmoid: return Eltwise::kSigmoid;
  }
  LOG(FATAL) << "activation " << static_cast<int>(a) << " has no kernel";
}

// Appends layers to `seq`, checking each against the shape flowing in.
class Builder {
 public:
  Builder(Context& ctx, uint64_t seed, DType dtype, bool sync_bn) : ctx_(ctx), dtype_(dtype), sync_bn_(sync_bn) {
    rng_.seed = seed;
  }

  absl::Status flatten_if_needed(Sequential& seq) {
    if (seq.out_shape().size() != 1) seq.add(std::make_unique<Flatten>(seq.out_shape()));
    return absl::OkStatus();
  }

  absl::Status linear(Sequential& seq, const std::string& key, int64_t out) {
    if (out <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": output size must be > 0, got ", out));
    TY_RETURN_IF_ERROR(flatten_if_needed(seq));
    seq.add(std::make_unique<Linear>(ctx_, rng_, seq.out_shape()[0], out, dtype_));
    return absl::OkStatus();
  }

  // `max_pool` > 0: a max pool of that size follows, fused into the layer (Conv2d).
  absl::Status conv(Sequential& seq, const std::string& key, int64_t channels, int64_t kernel, int64_t stride,
                    int64_t padding, int64_t max_pool = 0) {
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
    seq.add(std::make_unique<Conv2d>(ctx_, rng_, in, channels, kernel, stride, padding, dtype_, max_pool));
    return absl::OkStatus();
  }

  absl::Status pool(Sequential& seq, const std::string& key, bool max, int64_t size, int64_t stride) {
    const Shape in = seq.out_shape();
    if (in.size() != 3)
      return absl::InvalidArgumentError(
          absl::StrCat(key, ": pooling needs image input (C, H, W), got ", shape_str(in)));
    if (size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": pool size must be > 0"));
    if (in[1] < size || in[2] < size)
      return absl::InvalidArgumentError(absl::StrCat(key, ": pool size ", size, " larger than input ", shape_str(in)));
    seq.add(std::make_unique<Pool2d>(in, max, size, stride));
    return absl::OkStatus();
  }

  void activation(Sequential& seq, ActivationKind kind, float slope = 0.01f) {
    seq.add(std::make_unique<Activation>(seq.out_shape(), eltwise_of(kind), slope));
  }

  absl::Status dropout(Sequential& seq, const std::string& key, float p) {
    if (!(p >= 0.f && p < 1.f))
      return absl::InvalidArgumentError(absl::StrCat(key, ": dropout must be in [0, 1), got ", p));
    if (p > 0.f) seq.add(std::make_unique<Dropout>(seq.out_shape(), p));
    return absl::OkStatus();
  }

  absl::Status layer(Sequential& seq, const std::string& key, const LayerSpec& l) {
    switch (l.type) {
      case LayerType::kLinear: return linear(seq, key + ".out", l.out);
      case LayerType::kConv2d: return conv(seq, key, l.out, l.kernel, l.stride, l.padding);
      case LayerType::kMaxPool:
      case LayerType::kAvgPool:
        return pool(seq, key, l.type == LayerType::kMaxPool, l.size, l.stride == 1 ? 0 : l.stride);
      case LayerType::kRelu: activation(seq, ActivationKind::kRelu); return absl::OkStatus();
      case LayerType::kLeakyRelu: activation(seq, ActivationKind::kLeakyRelu, l.slope); return absl::OkStatus();
      case LayerType::kGelu: activation(seq, ActivationKind::kGelu); return absl::OkStatus();
      case LayerType::kTanh: activation(seq, ActivationKind::kTanh); return absl::OkStatus();
      case LayerType::kSigmoid: activation(seq, ActivationKind::kSigmoid); return absl::OkStatus();
      case LayerType::kDropout: return dropout(seq, key + ".p", l.p);
      case LayerType::kFlatten: seq.add(std::make_unique<Flatten>(seq.out_shape())); return absl::OkStatus();
      case LayerType::kBatchNorm:
        seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
        return absl::OkStatus();
      case LayerType::kLayerNorm:
        seq.add(std::make_unique<LayerNorm>(ctx_, seq.out_shape(), dtype_));
        return absl::OkStatus();
      case LayerType::kResidual: {
        auto body = std::make_unique<Sequential>(seq.out_shape());
        for (size_t i = 0; i < l.layers.size(); ++i)
          TY_RETURN_IF_ERROR(layer(*body, absl::StrCat(key, ".layers[", i, "]"), l.layers[i]));
        return residual(seq, key, std::move(body));
      }
    }
    LOG(FATAL) << key << ": layer type " << static_cast<int>(l.type) << " has no builder";
  }

  absl::Status residual(Sequential& seq, const std::string& key, std::unique_ptr<Sequential> body) {
    const Shape in = seq.out_shape(), out = body->out_shape();
    if (in != out) {
      bool ok = in.size() == 3 && out.size() == 3 && out[1] > 0 && in[1] % out[1] == 0 &&
                in[1] / out[1] == in[2] / out[2] && (in[1] - 1) / (in[1] / out[1]) + 1 == out[1];
      if (!ok)
        return absl::InvalidArgumentError(
            absl::StrCat(key, ": residual body maps ", shape_str(in), " to ", shape_str(out),
                         "; a skip connection needs the same shape or a strided change of channels"));
    }
    seq.add(std::make_unique<Residual>(ctx_, rng_, in, std::move(body), dtype_));
    return absl::OkStatus();
  }

  // conv, [batch norm], activation, [pool]. An activation that never decreases (all but
  // GELU) commutes with max pooling: it then runs after the pool, on a quarter of the
  // elements, with the same result; without batch norm the conv's bias moves after the
  // pool too (Conv2d's max_pool).
  absl::Status conv_block(Sequential& seq, const std::string& key, const ConvBlockSpec& b, ActivationKind act) {
    if (!b.residual && b.pool == PoolKind::kMax && act != ActivationKind::kGelu) {
      if (b.batch_norm) {
        TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding));
        seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
        TY_RETURN_IF_ERROR(pool(seq, key + ".pool", true, b.pool_size, 0));
      } else {
        if (b.pool_size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ".pool: pool size must be > 0"));
        TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding, b.pool_size));
      }
      activation(seq, act);
      return absl::OkStatus();
    }
    if (!b.residual) {
      TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding));
      if (b.batch_norm) seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
      activation(seq, act);
    } else {
      auto body = std::make_unique<Sequential>(seq.out_shape());
      TY_RETURN_IF_ERROR(conv(*body, key, b.channels, b.kernel, b.stride, b.padding));
      if (b.batch_norm) body->add(std::make_unique<BatchNorm>(ctx_, body->out_shape(), dtype_, sync_bn_));
      activation(*body, act);
      TY_RETURN_IF_ERROR(conv(*body, key, b.channels, b.kernel, 1, b.padding));
      if (b.batch_norm) body->add(std::make_unique<BatchNorm>(ctx_, body->out_shape(), dtype_, sync_bn_));
      TY_RETURN_IF_ERROR(residual(seq, key, std::move(body)));
      activation(seq, act);
    }
    if (b.pool == PoolKind::kNone) return absl::OkStatus();
    return pool(seq, key + ".pool", b.pool == PoolKind::kMax, b.pool_size, 0);
  }

 private:
  Context& ctx_;
  DType dtype_;
  bool sync_bn_;
  InitRng rng_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> build_model(Context& ctx, const ModelSpec& spec, const Shape& input_shape,
                                                   int64_t outputs, uint64_t seed, DType dtype,
                                                   const std::string& name) {
  Builder b(ctx, seed, dtype, spec.sync_batch_norm);
  auto net = std::make_unique<Sequential>(input_shape);
  if (spec.kind == ModelKind::kMlp || spec.kind == ModelKind::kCnn) {
    if (spec.kind == ModelKind::kCnn) {
      if (input_shape.size() != 3)
        return absl::InvalidArgumentError(absl::StrCat(
            "model.kind: cnn needs image data (C, H, W); the data has samples of shape ", shape_str(input_shape)));
      if (spec.conv.empty()) return absl::InvalidArgumentError("model.conv: a cnn needs at least one conv block");
      for (size_t i = 0; i < spec.conv.size(); ++i)
        TY_RETURN_IF_ERROR(b.conv_block(*net, absl::StrCat("model.conv[", i, "]"), spec.conv[i], spec.activation));
    }
    for (size_t i = 0; i < spec.hidden.size(); ++i) {
      TY_RETURN_IF_ERROR(b.linear(*net, absl::StrCat("model.hidden[", i, "]"), spec.hidden[i]));
      b.activation(*net, spec.activation);
      TY_RETURN_IF_ERROR(b.dropout(*net, "model.dropout", spec.dropout));
    }
    TY_RETURN_IF_ERROR(b.linear(*net, "outputs", outputs));
  } else {
    if (spec.layers.empty()) return absl::InvalidArgumentError("model.layers: empty list");
    for (size_t i = 0; i < spec.layers.size(); ++i)
      TY_RETURN_IF_ERROR(b.layer(*net, absl::StrCat("model.layers[", i, "]"), spec.layers[i]));
    const Shape out = net->out_shape();
    if (out.size() != 1 || out[0] != outputs)
      return absl::InvalidArgumentError(absl::StrCat("model.layers: the last layer gives ", shape_str(out),
                                                     " per sample; the data needs (", outputs, ",) outputs"));
  }
  return std::make_unique<Model>(std::move(net), name);
}

}  // namespace ty
