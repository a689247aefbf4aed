#include "models/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {

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

absl::StatusOr<Eltwise> parse_activation(const std::string& key, const std::string& name) {
  if (name == "relu") return Eltwise::kRelu;
  if (name == "leaky_relu") return Eltwise::kLeakyRelu;
  if (name == "gelu") return Eltwise::kGelu;
  if (name == "tanh") return Eltwise::kTanh;
  if (name == "sigmoid") return Eltwise::kSigmoid;
  return absl::InvalidArgumentError(absl::StrCat(
      key, ": unknown activation '", name, "' (allowed: relu, leaky_relu, gelu, tanh, sigmoid)"));
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
  absl::Status conv(Sequential& seq, const std::string& key, int64_t channels, int64_t kernel,
                    int64_t stride, int64_t padding, int64_t max_pool = 0) {
    const Shape in = seq.out_shape();
    if (in.size() != 3)
      return absl::InvalidArgumentError(absl::StrCat(
          key, ": conv2d needs image input (C, H, W), got ", shape_str(in)));
    if (channels <= 0 || kernel <= 0 || stride <= 0)
      return absl::InvalidArgumentError(absl::StrCat(key, ": channels, kernel and stride must be > 0"));
    if (padding < 0) padding = kernel / 2;
    if (in[1] + 2 * padding < kernel || in[2] + 2 * padding < kernel)
      return absl::InvalidArgumentError(absl::StrCat(key, ": kernel ", kernel, " does not fit input ",
                                                     shape_str(in), " with padding ", padding));
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
      return absl::InvalidArgumentError(absl::StrCat(key, ": pooling needs image input (C, H, W), got ", shape_str(in)));
    if (size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ": pool size must be > 0"));
    if (in[1] < size || in[2] < size)
      return absl::InvalidArgumentError(absl::StrCat(key, ": pool size ", size, " larger than input ", shape_str(in)));
    seq.add(std::make_unique<Pool2d>(in, max, size, stride));
    return absl::OkStatus();
  }

  absl::Status activation(Sequential& seq, const std::string& key, const std::string& name, float slope = 0.01f) {
    TY_ASSIGN_OR_RETURN(Eltwise kind, parse_activation(key, name));
    seq.add(std::make_unique<Activation>(seq.out_shape(), kind, slope));
    return absl::OkStatus();
  }

  absl::Status dropout(Sequential& seq, const std::string& key, float p) {
    if (!(p >= 0.f && p < 1.f))
      return absl::InvalidArgumentError(absl::StrCat(key, ": dropout must be in [0, 1), got ", p));
    if (p > 0.f) seq.add(std::make_unique<Dropout>(seq.out_shape(), p));
    return absl::OkStatus();
  }

  absl::Status layer(Sequential& seq, const std::string& key, const LayerSpec& l) {
    const std::string k = key + ".type";
    if (l.type == "linear") return linear(seq, key + ".out", l.out);
    if (l.type == "conv2d") return conv(seq, key, l.out, l.kernel, l.stride, l.padding);
    if (l.type == "maxpool" || l.type == "avgpool") return pool(seq, key, l.type == "maxpool", l.size, l.stride == 1 ? 0 : l.stride);
    if (l.type == "relu" || l.type == "leaky_relu" || l.type == "gelu" || l.type == "tanh" || l.type == "sigmoid")
      return activation(seq, k, l.type, l.slope);
    if (l.type == "dropout") return dropout(seq, key + ".p", l.p);
    if (l.type == "flatten") {
      seq.add(std::make_unique<Flatten>(seq.out_shape()));
      return absl::OkStatus();
    }
    if (l.type == "batchnorm") {
      seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
      return absl::OkStatus();
    }
    if (l.type == "layernorm") {
      seq.add(std::make_unique<LayerNorm>(ctx_, seq.out_shape(), dtype_));
      return absl::OkStatus();
    }
    if (l.type == "residual") {
      auto body = std::make_unique<Sequential>(seq.out_shape());
      for (size_t i = 0; i < l.layers.size(); ++i)
        TY_RETURN_IF_ERROR(layer(*body, absl::StrCat(key, ".layers[", i, "]"), l.layers[i]));
      return residual(seq, key, std::move(body));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        k, ": unknown layer type '", l.type,
        "' (allowed: linear, conv2d, maxpool, avgpool, relu, leaky_relu, gelu, tanh, sigmoid, "
        "dropout, flatten, batchnorm, layernorm, residual)"));
  }

  absl::Status residual(Sequential& seq, const std::string& key, std::unique_ptr<Sequential> body) {
    const Shape in = seq.out_shape(), out = body->out_shape();
    if (in != out) {
      bool ok = in.size() == 3 && out.size() == 3 && out[1] > 0 && in[1] % out[1] == 0 &&
                in[1] / out[1] == in[2] / out[2] && (in[1] - 1) / (in[1] / out[1]) + 1 == out[1];
      if (!ok)
        return absl::InvalidArgumentError(absl::StrCat(
            key, ": residual body maps ", shape_str(in), " to ", shape_str(out),
            "; a skip connection needs the same shape or a strided change of channels"));
    }
    seq.add(std::make_unique<Residual>(ctx_, rng_, in, std::move(body), dtype_));
    return absl::OkStatus();
  }

  // conv, [batch norm], activation, [pool]. An activation that never decreases (all but
  // GELU) commutes with max pooling: it then runs after the pool, on a quarter of the
  // elements, with the same result; without batch norm the conv's bias moves after the
  // pool too (Conv2d's max_pool).
  absl::Status conv_block(Sequential& seq, const std::string& key, const ConvBlockSpec& b,
                          const std::string& act) {
    if (b.pool != "max" && b.pool != "avg" && b.pool != "none")
      return absl::InvalidArgumentError(absl::StrCat(key, ".pool: '", b.pool, "' (allowed: max, avg, none)"));
    TY_ASSIGN_OR_RETURN(const Eltwise kind, parse_activation("model.activation", act));
    if (!b.residual && b.pool == "max" && kind != Eltwise::kGelu) {
      if (b.batch_norm) {
        TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding));
        seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
        TY_RETURN_IF_ERROR(pool(seq, key + ".pool", true, b.pool_size, 0));
      } else {
        if (b.pool_size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ".pool: pool size must be > 0"));
        TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding, b.pool_size));
      }
      return activation(seq, "model.activation", act);
    }
    if (!b.residual) {
      TY_RETURN_IF_ERROR(conv(seq, key, b.channels, b.kernel, b.stride, b.padding));
      if (b.batch_norm) seq.add(std::make_unique<BatchNorm>(ctx_, seq.out_shape(), dtype_, sync_bn_));
      TY_RETURN_IF_ERROR(activation(seq, "model.activation", act));
    } else {
      auto body = std::make_unique<Sequential>(seq.out_shape());
      TY_RETURN_IF_ERROR(conv(*body, key, b.channels, b.kernel, b.stride, b.padding));
      if (b.batch_norm) body->add(std::make_unique<BatchNorm>(ctx_, body->out_shape(), dtype_, sync_bn_));
      TY_RETURN_IF_ERROR(activation(*body, "model.activation", act));
      TY_RETURN_IF_ERROR(conv(*body, key, b.channels, b.kernel, 1, b.padding));
      if (b.batch_norm) body->add(std::make_unique<BatchNorm>(ctx_, body->out_shape(), dtype_, sync_bn_));
      TY_RETURN_IF_ERROR(residual(seq, key, std::move(body)));
      TY_RETURN_IF_ERROR(activation(seq, "model.activation", act));
    }
    if (b.pool == "none") return absl::OkStatus();
    return pool(seq, key + ".pool", b.pool == "max", b.pool_size, 0);
  }

 private:
  Context& ctx_;
  DType dtype_;
  bool sync_bn_;
  InitRng rng_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> build_model(Context& ctx, const ModelSpec& spec,
                                                   const Shape& input_shape, int64_t outputs,
                                                   uint64_t seed, DType dtype) {
  Builder b(ctx, seed, dtype, spec.sync_batch_norm);
  auto net = std::make_unique<Sequential>(input_shape);
  if (spec.kind == "mlp" || spec.kind == "cnn") {
    if (spec.kind == "cnn") {
      if (input_shape.size() != 3)
        return absl::InvalidArgumentError(absl::StrCat(
            "model.kind: cnn needs image data (C, H, W); the data has samples of shape ",
            shape_str(input_shape)));
      if (spec.conv.empty())
        return absl::InvalidArgumentError("model.conv: a cnn needs at least one conv block");
      for (size_t i = 0; i < spec.conv.size(); ++i)
        TY_RETURN_IF_ERROR(b.conv_block(*net, absl::StrCat("model.conv[", i, "]"), spec.conv[i], spec.activation));
    }
    for (size_t i = 0; i < spec.hidden.size(); ++i) {
      TY_RETURN_IF_ERROR(b.linear(*net, absl::StrCat("model.hidden[", i, "]"), spec.hidden[i]));
      TY_RETURN_IF_ERROR(b.activation(*net, "model.activation", spec.activation));
      TY_RETURN_IF_ERROR(b.dropout(*net, "model.dropout", spec.dropout));
    }
    TY_RETURN_IF_ERROR(b.linear(*net, "outputs", outputs));
  } else if (spec.kind == "layers") {
    if (spec.layers.empty()) return absl::InvalidArgumentError("model.layers: empty list");
    for (size_t i = 0; i < spec.layers.size(); ++i)
      TY_RETURN_IF_ERROR(b.layer(*net, absl::StrCat("model.layers[", i, "]"), spec.layers[i]));
    const Shape out = net->out_shape();
    if (out.size() != 1 || out[0] != outputs)
      return absl::InvalidArgumentError(absl::StrCat(
          "model.layers: the last layer gives ", shape_str(out), " per sample; the data needs (",
          outputs, ",) outputs"));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("model.kind: unknown '", spec.kind,
                                                   "' (allowed: mlp, cnn, layers)"));
  }
  auto model = std::make_unique<Model>(std::move(net));
  model->named_params();  // assigns full names to parameters
  return model;
}

}  // namespace ty
