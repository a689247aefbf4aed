#include "models/gan.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "models/layers/activation.h"
#include "models/layers/batch_norm.h"
#include "models/layers/conv2d.h"
#include "models/layers/conv_transpose2d.h"
#include "models/layers/flatten.h"
#include "models/layers/reshape.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"
#include "runtime/status.h"

namespace ty {

GanNet::GanNet(Role role, std::unique_ptr<Sequential> body, Var label_table)
    : role_(role), body_(std::move(body)), label_table_(std::move(label_table)) {
  out_shape_ = body_->out_shape();
}

Vars GanNet::apply(Context& ctx, const Vars& xs) {
  if (!conditional()) return body_->apply(ctx, {xs[0]});
  CHECK_EQ(xs.size(), 2u) << "a conditional GAN network takes its input and the labels";
  const Var& x = xs[0];
  Var label = ops::embedding(ctx, xs[1].value(), label_table_);  // (N, width)
  if (role_ == Role::kGenerator) return body_->apply(ctx, {ops::concat(ctx, {x, label}, 1)});
  const Shape& s = x.shape();  // (N, C, H, W): the label's embedding is one more channel
  return body_->apply(ctx, {ops::concat(ctx, {x, ops::reshape(ctx, label, {s[0], 1, s[2], s[3]})}, 1)});
}

std::string GanNet::describe() const {
  return absl::StrCat(role_ == Role::kGenerator ? "generator" : "discriminator",
                      conditional() ? " (label embedded)" : "", ": [", body_->describe(), "]");
}

std::vector<std::pair<std::string, Var>> GanNet::params() {
  auto out = body_->params();
  if (conditional()) out.emplace_back("label_embedding", label_table_);
  return out;
}

void GanNet::set_training(bool training) {
  Layer::set_training(training);
  body_->set_training(training);
}

namespace {

constexpr float kDcganSlope = 0.2f;

// The built-in DCGAN for square images whose side halves n >= 1 times down to s0 >= 4 (28:
// 7 after 2, 32 and 64: 4 after 3 and 4). Widths c·2^i at each halving i.
struct DcganPlan {
  int64_t n = 0, s0 = 0;
};

absl::StatusOr<DcganPlan> dcgan_plan(const std::string& key, const Shape& image) {
  if (image.size() != 3 || image[1] != image[2])
    return absl::InvalidArgumentError(absl::StrCat(key, ": the built-in dcgan needs square images (C, H, H); the data "
                                                   "has ",
                                                   shape_str(image), "; give a layer list"));
  DcganPlan p{0, image[1]};
  while (p.s0 % 2 == 0 && p.s0 / 2 >= 4) {
    p.s0 /= 2;
    ++p.n;
  }
  if (p.n == 0)
    return absl::InvalidArgumentError(absl::StrCat(key, ": the built-in dcgan needs images whose side halves to 4 or "
                                                   "more at least once (28, 32, 64, ...); the data has ",
                                                   shape_str(image), "; give a layer list"));
  return p;
}

absl::Status add_dcgan_generator(LayerBuild& b, const DcganPlan& p, int64_t c, int64_t channels, Sequential& g) {
  g.add(std::make_unique<Reshape>(Shape{g.out_shape()[0], 1, 1}));
  int64_t width = c << (p.n - 1);
  TY_RETURN_IF_ERROR(add_conv_transpose2d(b, "model.generator", width, p.s0, 1, 0, 0, false, g));
  add_batch_norm(b, g);
  add_activation(g, ActivationKind::kRelu);
  for (int64_t i = p.n - 1; i >= 1; --i, width /= 2) {
    TY_RETURN_IF_ERROR(add_conv_transpose2d(b, "model.generator", width / 2, 4, 2, 1, 0, false, g));
    add_batch_norm(b, g);
    add_activation(g, ActivationKind::kRelu);
  }
  TY_RETURN_IF_ERROR(add_conv_transpose2d(b, "model.generator", channels, 4, 2, 1, 0, false, g));
  add_activation(g, ActivationKind::kTanh);
  return absl::OkStatus();
}

absl::Status add_dcgan_discriminator(LayerBuild& b, const DcganPlan& p, int64_t c, Sequential& d) {
  TY_RETURN_IF_ERROR(add_conv2d(b, "model.discriminator", c, 4, 2, 1, 0, d, false));
  add_activation(d, ActivationKind::kLeakyRelu, kDcganSlope);
  int64_t width = c;
  for (int64_t i = 1; i < p.n; ++i, width *= 2) {
    TY_RETURN_IF_ERROR(add_conv2d(b, "model.discriminator", width * 2, 4, 2, 1, 0, d, false));
    add_batch_norm(b, d);
    add_activation(d, ActivationKind::kLeakyRelu, kDcganSlope);
  }
  TY_RETURN_IF_ERROR(add_conv2d(b, "model.discriminator", 1, p.s0, 1, 0, 0, d, false));
  d.add(std::make_unique<Flatten>(d.out_shape()));
  return absl::OkStatus();
}

// DCGAN's initialization, in place: weights of 2+ dimensions N(0, 0.02²), 1-D weights (norm
// scales) N(1, 0.02²), biases 0; label embeddings keep their N(0, 1).
void dcgan_init(LayerBuild& b, GanNet& net) {
  for (auto& [name, v] : net.params()) {
    if (name == "label_embedding") continue;
    Tensor host = Tensor::empty(host_memory(), v.shape(), v.dtype());
    const Philox rng(b.rng.seed, b.rng.next_stream++);
    const bool weight = absl::EndsWith(name, "weight");
    const double mean = weight && v.shape().size() == 1 ? 1.0 : 0.0, std = weight ? 0.02 : 0.0;
    for (int64_t i = 0; i < host.numel(); ++i) host.set(i, mean + std * rng.normal(static_cast<uint64_t>(i)));
    if (!b.ctx.shape_only()) v.value().copy_from(host);
  }
}

Var label_table(LayerBuild& b, int64_t classes, int64_t width) {
  return Var(b.rng.normal(b.ctx, {classes, width}, 1.0, b.dtype), true);
}

}  // namespace

absl::Status add_gan(LayerBuild& b, const ModelSpec& spec, const Shape& image, int64_t classes, Sequential& net) {
  if (spec.conditional && classes <= 0)
    return absl::InvalidArgumentError("model.conditional: needs class labels (data.train with labels)");
  const bool conditional = spec.conditional;
  const bool builtin_g = spec.generator.empty(), builtin_d = spec.discriminator.empty();
  DcganPlan plan;
  if (builtin_g || builtin_d) {
    TY_ASSIGN_OR_RETURN(plan, dcgan_plan(builtin_g ? "model.generator" : "model.discriminator", image));
  }
  // The generator: noise (latent; with the label's embedding beside it, 2 · latent).
  auto g = std::make_unique<Sequential>(Shape{spec.latent * (conditional ? 2 : 1)});
  if (builtin_g)
    TY_RETURN_IF_ERROR(add_dcgan_generator(b, plan, spec.channels, image[0], *g));
  else
    TY_RETURN_IF_ERROR(build_layers(b, spec.generator, "model.generator", *g));
  if (g->out_shape() != image)
    return absl::InvalidArgumentError(absl::StrCat("model.generator: gives ", shape_str(g->out_shape()),
                                                   " per sample; the data's images are ", shape_str(image)));
  Shape d_in = image;
  if (conditional) d_in[0] += 1;
  auto d = std::make_unique<Sequential>(d_in);
  if (builtin_d)
    TY_RETURN_IF_ERROR(add_dcgan_discriminator(b, plan, spec.channels, *d));
  else
    TY_RETURN_IF_ERROR(build_layers(b, spec.discriminator, "model.discriminator", *d));
  if (d->out_shape() != Shape{1})
    return absl::InvalidArgumentError(absl::StrCat("model.discriminator: gives ", shape_str(d->out_shape()),
                                                   " per sample; it must give one logit, (1,)"));
  const int64_t pixels = image.size() == 3 ? image[1] * image[2] : 0;
  if (conditional && pixels == 0)
    return absl::InvalidArgumentError("model.conditional: needs image data (C, H, W)");
  auto gen = std::make_unique<GanNet>(GanNet::Role::kGenerator, std::move(g),
                                      conditional ? label_table(b, classes, spec.latent) : Var());
  auto dis = std::make_unique<GanNet>(GanNet::Role::kDiscriminator, std::move(d),
                                      conditional ? label_table(b, classes, pixels) : Var());
  dcgan_init(b, *gen);
  dcgan_init(b, *dis);
  net.add(std::move(gen), "generator");
  net.add(std::move(dis), "discriminator");
  return absl::OkStatus();
}

GanNet& gan_generator(Model& gan) { return dynamic_cast<GanNet&>(gan.layer(0)); }
GanNet& gan_discriminator(Model& gan) { return dynamic_cast<GanNet&>(gan.layer(1)); }

}  // namespace ty
