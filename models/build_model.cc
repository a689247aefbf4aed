// build_model: the model kinds of the spec (mlp, cnn, layers; rnn and transformer in
// language_model.cc) assembled from the registered
// layer files (models/layers/).
#include "absl/strings/str_cat.h"
#include "models/gan.h"
#include "models/language_model.h"
#include "models/seq2seq.h"
#include "models/layers/activation.h"
#include "models/layers/batch_norm.h"
#include "models/layers/conv2d.h"
#include "models/layers/dropout.h"
#include "models/layers/linear.h"
#include "models/layers/pool2d.h"
#include "models/layers/residual.h"
#include "models/model.h"
#include "runtime/status.h"

namespace ty {
namespace {

// conv, [batch norm], activation, [pool]. An activation that never decreases (all but
// GELU) commutes with max pooling: it then runs after the pool, on a quarter of the
// elements, with the same result; without batch norm the conv's bias moves after the
// pool too (Conv2d's max_pool).
absl::Status add_conv_block(LayerBuild& b, const std::string& key, const ConvBlockSpec& c, ActivationKind act,
                            Sequential& seq) {
  if (!c.residual && c.pool == PoolKind::kMax && act != ActivationKind::kGelu) {
    if (c.batch_norm) {
      TY_RETURN_IF_ERROR(add_conv2d(b, key, c.channels, c.kernel, c.stride, c.padding, 0, seq));
      add_batch_norm(b, seq);
      TY_RETURN_IF_ERROR(add_pool2d(key + ".pool", true, c.pool_size, 0, seq));
    } else {
      if (c.pool_size <= 0) return absl::InvalidArgumentError(absl::StrCat(key, ".pool: pool size must be > 0"));
      TY_RETURN_IF_ERROR(add_conv2d(b, key, c.channels, c.kernel, c.stride, c.padding, c.pool_size, seq));
    }
    add_activation(seq, act);
    return absl::OkStatus();
  }
  if (!c.residual) {
    TY_RETURN_IF_ERROR(add_conv2d(b, key, c.channels, c.kernel, c.stride, c.padding, 0, seq));
    if (c.batch_norm) add_batch_norm(b, seq);
    add_activation(seq, act);
  } else {
    auto body = std::make_unique<Sequential>(seq.out_shape());
    TY_RETURN_IF_ERROR(add_conv2d(b, key, c.channels, c.kernel, c.stride, c.padding, 0, *body));
    if (c.batch_norm) add_batch_norm(b, *body);
    add_activation(*body, act);
    TY_RETURN_IF_ERROR(add_conv2d(b, key, c.channels, c.kernel, 1, c.padding, 0, *body));
    if (c.batch_norm) add_batch_norm(b, *body);
    TY_RETURN_IF_ERROR(add_residual(b, key, std::move(body), seq));
    add_activation(seq, act);
  }
  if (c.pool == PoolKind::kNone) return absl::OkStatus();
  return add_pool2d(key + ".pool", c.pool == PoolKind::kMax, c.pool_size, 0, seq);
}

// mlp: hidden linear layers, each with the activation and dropout; cnn: conv blocks first.
absl::Status add_mlp_or_cnn(LayerBuild& b, const ModelSpec& spec, const Shape& input_shape, int64_t outputs,
                            Sequential& net) {
  if (spec.kind == ModelKind::kCnn) {
    if (input_shape.size() != 3)
      return absl::InvalidArgumentError(absl::StrCat(
          "model.kind: cnn needs image data (C, H, W); the data has samples of shape ", shape_str(input_shape)));
    if (spec.conv.empty()) return absl::InvalidArgumentError("model.conv: a cnn needs at least one conv block");
    for (size_t i = 0; i < spec.conv.size(); ++i)
      TY_RETURN_IF_ERROR(add_conv_block(b, absl::StrCat("model.conv[", i, "]"), spec.conv[i], spec.activation, net));
  }
  for (size_t i = 0; i < spec.hidden.size(); ++i) {
    TY_RETURN_IF_ERROR(add_linear(b, absl::StrCat("model.hidden[", i, "]"), spec.hidden[i], net));
    add_activation(net, spec.activation);
    TY_RETURN_IF_ERROR(add_dropout(b, "model.dropout", spec.dropout, net));
  }
  return add_linear(b, "outputs", outputs, net);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> build_model(Context& ctx, const ModelSpec& spec, const Shape& input_shape,
                                                   int64_t outputs, uint64_t seed, DType dtype, const std::string& name,
                                                   std::pair<size_t, size_t> keep) {
  InitRng rng;
  rng.seed = seed;
  LayerBuild b{ctx, rng, dtype, spec.sync_batch_norm};
  // A GAN's net takes the generator's noise; its images are the data's.
  auto net = std::make_unique<Sequential>(spec.kind == ModelKind::kGan ? Shape{spec.latent} : input_shape);
  net->keep_only(keep.first, keep.second);
  if (spec.kind == ModelKind::kMlp || spec.kind == ModelKind::kCnn) {
    TY_RETURN_IF_ERROR(add_mlp_or_cnn(b, spec, input_shape, outputs, *net));
  } else if (spec.kind == ModelKind::kRnn || spec.kind == ModelKind::kTransformer) {
    TY_RETURN_IF_ERROR(add_language_model(b, spec, outputs, *net));
  } else if (spec.kind == ModelKind::kGan) {
    TY_RETURN_IF_ERROR(add_gan(b, spec, input_shape, outputs, *net));
  } else if (spec.kind == ModelKind::kSeq2seq) {
    if (input_shape.size() != 1)
      return absl::InvalidArgumentError(absl::StrCat(
          "model.kind: seq2seq needs token pairs (data import parallel); the data has samples of shape ",
          shape_str(input_shape)));
    TY_RETURN_IF_ERROR(add_seq2seq(b, spec, input_shape[0], outputs, *net));
  } else {
    if (spec.layers.empty()) return absl::InvalidArgumentError("model.layers: empty list");
    TY_RETURN_IF_ERROR(build_layers(b, spec.layers, "model.layers", *net));
    const Shape out = net->out_shape();
    if (out.size() != 1 || out[0] != outputs)
      return absl::InvalidArgumentError(absl::StrCat("model.layers: the last layer gives ", shape_str(out),
                                                     " per sample; the data needs (", outputs, ",) outputs"));
  }
  return std::make_unique<Model>(std::move(net), name);
}

}  // namespace ty
