// GAN models: the built-in DCGAN's shapes for 28, 32 and 64-pixel images, parameter names,
// DCGAN's initialization, layer-list networks and the errors for ones that do not fit,
// label conditioning.
#include "models/gan.h"

#include <cmath>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

ModelSpec dcgan(int64_t channels = 8) {
  ModelSpec s;
  s.kind = ModelKind::kGan;
  s.latent = 16;
  s.channels = channels;
  return s;
}

LayerSpec L(const char* type, int64_t out = 0) {
  LayerSpec l;
  l.type = type;
  l.out = out;
  return l;
}

TEST(Gan, BuiltInDcganFitsEachImageSize) {
  Context ctx;
  for (const Shape& image : {Shape{1, 28, 28}, Shape{3, 32, 32}, Shape{3, 64, 64}}) {
    auto m = build_model(ctx, dcgan(), image, 10, 1);
    ASSERT_TRUE(m.ok()) << m.status();
    TapeScope none(ctx, nullptr);
    Var fake = gan_generator(**m).apply(ctx, {Var(ctx.zeros({3, 16}))})[0];
    EXPECT_EQ(fake.shape(), (Shape{3, image[0], image[1], image[2]})) << (*m)->describe();
    Var logit = gan_discriminator(**m).apply(ctx, {fake})[0];
    EXPECT_EQ(logit.shape(), (Shape{3, 1}));
    for (int64_t i = 0; i < fake.value().numel(); ++i) ASSERT_LE(std::fabs(fake.value().at(i)), 1.0);  // tanh
  }
}

TEST(Gan, ParametersAreNamedByNetworkAndStartAsDcgan) {
  Context ctx;
  auto m = build_model(ctx, dcgan(32), {1, 28, 28}, 10, 1);
  ASSERT_TRUE(m.ok()) << m.status();
  const auto groups = (*m)->param_groups();
  ASSERT_EQ(groups.size(), 2u);
  size_t g = 0, d = 0;
  for (auto& [name, v] : (*m)->named_params()) {
    const bool gen = name.rfind("generator.", 0) == 0;
    ASSERT_TRUE(gen || name.rfind("discriminator.", 0) == 0) << name;
    (gen ? g : d)++;
    const Tensor t = v.value().host();
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      sum += t.at(i);
      sq += t.at(i) * t.at(i);
    }
    const double mean = sum / t.numel(), sd = std::sqrt(std::max(0.0, sq / t.numel() - mean * mean));
    if (v.shape().size() >= 2 && t.numel() > 1000) {  // convolution weights: N(0, 0.02²)
      EXPECT_NEAR(mean, 0.0, 0.003) << name;
      EXPECT_NEAR(sd, 0.02, 0.003) << name;
    } else if (name.find(".weight") != std::string::npos && v.shape().size() == 1) {  // norm scales: N(1, 0.02²)
      EXPECT_NEAR(mean, 1.0, 0.02) << name;
    } else if (name.find(".bias") != std::string::npos) {
      EXPECT_EQ(sd, 0.0) << name;
    }
  }
  EXPECT_EQ(g, groups[0].size());
  EXPECT_EQ(d, groups[1].size());
  // The built-in networks have no biases (batch norm follows, or the logit needs none).
  EXPECT_EQ((*m)->named_params()[0].first, "generator.1.weight");
}

TEST(Gan, LayerListsAndTheirErrors) {
  Context ctx;
  ModelSpec s = dcgan();
  LayerSpec reshape = L("reshape");
  reshape.shape = {4, 7, 7};
  LayerSpec up = L("conv_transpose2d", 1);
  up.kernel = 4;
  up.stride = 4;
  up.padding = 0;
  s.generator = {L("linear", 4 * 7 * 7), L("relu"), reshape, up, L("tanh")};
  s.discriminator = {L("flatten"), L("linear", 1)};
  auto m = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_TRUE(m.ok()) << m.status();

  s.discriminator = {L("flatten"), L("linear", 2)};
  auto two = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("model.discriminator: gives (2,) per sample; it must give one logit"),
            std::string::npos)
      << two.status();

  s.discriminator = {};
  s.generator = {L("linear", 10)};
  auto wrong = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("model.generator: gives (10,) per sample; the data's images are (1, 28, 28)"),
            std::string::npos)
      << wrong.status();

  auto odd = build_model(ctx, dcgan(), {1, 7, 7}, 10, 1);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("the built-in dcgan needs images whose side halves"), std::string::npos)
      << odd.status();
}

TEST(Gan, ConditionalNetworksTakeTheLabels) {
  Context ctx;
  ModelSpec s = dcgan();
  s.conditional = true;
  auto m = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_TRUE(gan_generator(**m).conditional());
  Tensor labels = Tensor::empty(host_memory(), {2}, DType::kI32);
  labels.data<int32_t>()[0] = 3;
  labels.data<int32_t>()[1] = 7;
  TapeScope none(ctx, nullptr);
  const Var z(ctx.zeros({2, 16}));
  Var fake = gan_generator(**m).apply(ctx, {z, Var(labels)})[0];
  EXPECT_EQ(fake.shape(), (Shape{2, 1, 28, 28}));
  // Same noise, different labels: different images.
  Tensor a = ops::plain(ctx, fake).value().host();
  EXPECT_NE(a.at(0), a.at(28 * 28));
  Var logit = gan_discriminator(**m).apply(ctx, {fake, Var(labels)})[0];
  EXPECT_EQ(logit.shape(), (Shape{2, 1}));
  auto unlabeled = build_model(ctx, s, {1, 28, 28}, 0, 1);
  ASSERT_FALSE(unlabeled.ok());
  EXPECT_NE(unlabeled.status().message().find("model.conditional: needs class labels"), std::string::npos);
}

}  // namespace
}  // namespace ty
