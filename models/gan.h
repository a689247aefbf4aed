// GANs (model.kind gan): a generator from noise (and, conditional, a class label) to images of
// the data's shape in tanh's range, and a discriminator from images (and the label) to one
// logit. One Model holds both as its two layers, "generator" and "discriminator", so their
// parameters are named "generator.*" and "discriminator.*" (in weights.bin, checkpoints and
// optimizer state); the GAN task (worker/trainer/gan_task.h) runs them apart. Each network is
// a `model.generator` / `model.discriminator` layer list or, when the list is empty, the
// built-in DCGAN (Radford et al. 2016) for the image size.
#pragma once

#include "absl/status/status.h"
#include "models/layer_registry.h"
#include "models/model.h"

namespace ty {

// One of the two networks: its layers, and with a label the embedding that conditions it.
// apply({x}) or, conditional, apply({x, labels i32 (N)}) -> {(N, out...)}.
//  generator: x = noise (N, latent); the label's embedding (latent wide) is concatenated to it.
//  discriminator: x = images (N, C, H, W); the label's embedding (H·W wide) is an extra channel.
class GanNet final : public Layer {
 public:
  enum class Role { kGenerator, kDiscriminator };
  GanNet(Role role, std::unique_ptr<Sequential> body, Var label_table);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override { return body_->buffers(); }
  void set_training(bool training) override;
  int64_t activation_numel() const override { return body_->activation_numel(); }
  bool conditional() const { return label_table_.defined(); }

 private:
  Role role_;
  std::unique_ptr<Sequential> body_;
  Var label_table_;  // (classes, latent) or (classes, H·W); undefined without labels
};

// Appends layer "generator" and layer "discriminator" to `net` (whose input is the noise,
// (latent)) for images of `image` shape (C, H, W); `classes` > 0 with model.conditional.
// Every parameter starts as DCGAN's: weights of convolutions (plain and transposed) and
// linear layers N(0, 0.02²), norm scales N(1, 0.02²), biases 0. Errors name the spec key.
absl::Status add_gan(LayerBuild& b, const ModelSpec& spec, const Shape& image, int64_t classes, Sequential& net);

// The two networks of a model whose net add_gan built.
GanNet& gan_generator(Model& gan);
GanNet& gan_discriminator(Model& gan);

}  // namespace ty
