// GanTask's step: each network changes only by its own update, no gradient is left over
// for the next step (a discriminator gradient from the generator's update would leak into
// the next discriminator update), the noise is a function of (seed, step), and a
// conditional GAN trains on the batch's labels.
#include "worker/trainer/gan_task.h"

#include <random>

#include "gtest/gtest.h"
#include "models/gan.h"
#include "runtime/optim/adam.h"
#include "worker/trainer/data_parallel.h"

namespace ty {
namespace {

struct SmallGan {
  Context ctx{ContextOptions{{}, 1, 5}};
  std::unique_ptr<Model> model;
  std::unique_ptr<Adam> g_opt, d_opt;
  std::unique_ptr<GanTask> task;
  DataParallel strategy{nullptr, nullptr, 1 << 20};

  SmallGan(float g_lr, float d_lr, bool conditional = false) {
    ModelSpec s;
    s.kind = ModelKind::kGan;
    s.latent = 8;
    s.channels = 4;
    s.conditional = conditional;
    model = *build_model(ctx, s, {1, 28, 28}, 10, 3);
    auto groups = model->param_groups();
    g_opt = std::make_unique<Adam>(ctx, groups[0], AdamOptions{0.5f, 0.999f, 1e-8f, 0.f, false});
    d_opt = std::make_unique<Adam>(ctx, groups[1], AdamOptions{0.5f, 0.999f, 1e-8f, 0.f, false});
    task = std::make_unique<GanTask>(ctx, *g_opt, g_lr, *d_opt, d_lr, 8, conditional, 11, 0.f);
    EXPECT_TRUE(strategy.start(*model).ok());
  }
  std::vector<Batch> batches(int64_t rows, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1, 1);
    Batch b;
    Tensor x = Tensor::empty(host_memory(), {rows, 1, 28, 28}, DType::kF32);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    Tensor y = Tensor::empty(host_memory(), {rows}, DType::kI32);
    for (int64_t i = 0; i < rows; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(i % 10);
    b.set("x", x);
    b.set("y", y);
    std::vector<Batch> out;
    out.push_back(std::move(b));
    return out;
  }
  // Every parameter's values, per group.
  std::vector<std::vector<float>> values() {
    std::vector<std::vector<float>> out;
    for (auto& group : model->param_groups()) {
      out.emplace_back();
      for (Var& v : group) {
        const Tensor t = v.value().host();
        out.back().insert(out.back().end(), t.data<float>(), t.data<float>() + t.numel());
      }
    }
    return out;
  }
};

TEST(GanTask, EachNetworkChangesByItsOwnUpdateAndNoGradientIsLeftOver) {
  for (const auto& [g_lr, d_lr] : {std::pair{0.f, 1e-3f}, std::pair{1e-3f, 0.f}, std::pair{1e-3f, 1e-3f}}) {
    SmallGan s(g_lr, d_lr);
    const auto before = s.values();
    auto batches = s.batches(6, 1);
    auto loss = s.task->train_step(s.ctx, *s.model, s.strategy, batches, g_lr, 0);
    ASSERT_TRUE(loss.ok()) << loss.status();
    EXPECT_GT(loss->item(), 0.0);
    const auto after = s.values();
    EXPECT_EQ(before[GanTask::kGeneratorGroup] != after[GanTask::kGeneratorGroup], g_lr > 0) << g_lr;
    EXPECT_EQ(before[GanTask::kDiscriminatorGroup] != after[GanTask::kDiscriminatorGroup], d_lr > 0) << d_lr;
    for (auto& [name, v] : s.model->named_params()) EXPECT_FALSE(v.grad().defined()) << name << " kept a gradient";
    ASSERT_EQ(s.task->step_figures().size(), 1u);
    EXPECT_EQ(s.task->step_figures()[0].first, "d_loss");
  }
}

TEST(GanTask, TheNoiseIsAFunctionOfSeedAndStep) {
  auto run = [](int64_t step) {
    SmallGan s(1e-3f, 1e-3f);
    auto batches = s.batches(4, 2);
    EXPECT_TRUE(s.task->train_step(s.ctx, *s.model, s.strategy, batches, 1e-3f, step).ok());
    return s.values();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
  Context ctx;
  const Tensor a = latent_noise(ctx, 1, kSampleNoise, 0, 4, 3), b = latent_noise(ctx, 1, kSampleNoise, 2, 2, 3);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(a.at(6 + i), b.at(i));  // row r is the same draw wherever it is asked for
}

TEST(GanTask, ConditionalStepsTakeTheLabels) {
  SmallGan s(1e-3f, 1e-3f, true);
  auto tables = [&] {
    std::vector<float> out;
    for (auto& [name, v] : s.model->named_params())
      if (name == "generator.label_embedding" || name == "discriminator.label_embedding") {
        const Tensor t = v.value().host();
        out.insert(out.end(), t.data<float>(), t.data<float>() + t.numel());
      }
    return out;
  };
  const std::vector<float> before = tables();
  ASSERT_EQ(before.size(), 10u * 8 + 10u * 28 * 28);
  auto batches = s.batches(5, 3);
  auto loss = s.task->train_step(s.ctx, *s.model, s.strategy, batches, 1e-3f, 0);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_NE(tables(), before);  // both label embeddings were trained
}

}  // namespace
}  // namespace ty
