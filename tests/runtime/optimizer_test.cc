// Optimizer steps, schedules and clipping against values computed by hand.
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "gtest/gtest.h"
#include "runtime/optim/adam.h"
#include "runtime/optim/clip.h"
#include "runtime/optim/loss_scaler.h"
#include "runtime/optim/schedule.h"
#include "runtime/optim/sgd.h"

namespace ty {
namespace {

// The host Context the optimizers run their updates with.
Context& host() {
  static Context ctx;
  return ctx;
}

// One scalar parameter p with gradient g set before each step.
struct Scalar {
  Var p{Tensor::empty(host_memory(), {1}, DType::kF64), true, "p"};
  explicit Scalar(double v) { p.value().set(0, v); }
  void grad(double g) {
    Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
    t.set(0, g);
    p.accumulate_grad(host(), t);
  }
  double value() const { return p.value().at(0); }
};

TEST(Sgd, PlainStep) {
  Scalar s(1.0);
  Sgd opt(host(), {s.p}, {});
  s.grad(0.5);
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.95, 1e-9);
}

TEST(Sgd, MomentumWithWeightDecayTwoSteps) {
  Scalar s(1.0);
  Sgd opt(host(), {s.p}, {0.9f, false, 0.1f});
  s.grad(0.5);
  opt.step(0.1f);
  opt.zero_grad();
  EXPECT_NEAR(s.value(), 0.94, 1e-7);  // d = 0.5 + 0.1*1 = 0.6; buf = 0.6
  s.grad(0.5);
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.8266, 1e-6);  // d = 0.594; buf = 0.54 + 0.594 = 1.134
}

TEST(Sgd, Nesterov) {
  Scalar s(1.0);
  Sgd opt(host(), {s.p}, {0.9f, true, 0.f});
  s.grad(0.5);
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.905, 1e-7);  // buf = 0.5; d = 0.5 + 0.9*0.5 = 0.95
}

TEST(Sgd, SkipsParametersWithoutGradient) {
  Scalar a(1.0), b(2.0);
  Sgd opt(host(), {a.p, b.p}, {});
  a.grad(1.0);
  opt.step(0.5f);
  EXPECT_NEAR(a.value(), 0.5, 1e-9);
  EXPECT_EQ(b.value(), 2.0);
}

TEST(Adam, TwoStepsWithBiasCorrection) {
  Scalar s(1.0);
  Adam opt(host(), {s.p}, {});
  s.grad(0.5);
  opt.step(0.1f);
  opt.zero_grad();
  EXPECT_NEAR(s.value(), 0.9000000019999999, 1e-7);
  s.grad(0.25);
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.8067820404774622, 1e-6);
  EXPECT_EQ(opt.state().size(), 3u);  // exp_avg, exp_avg_sq, step
}

TEST(OptimizerState, SaveAndLoadContinueExactly) {
  for (bool adam : {true, false}) {
    Scalar a(1.0), b(1.0);
    std::unique_ptr<Optimizer> first, second;
    if (adam) {
      first = std::make_unique<Adam>(host(), std::vector<Var>{a.p}, AdamOptions{});
      second = std::make_unique<Adam>(host(), std::vector<Var>{b.p}, AdamOptions{});
    } else {
      first = std::make_unique<Sgd>(host(), std::vector<Var>{a.p}, SgdOptions{0.9f, true, 0.01f});
      second = std::make_unique<Sgd>(host(), std::vector<Var>{b.p}, SgdOptions{0.9f, true, 0.01f});
    }
    for (double g : {0.5, -0.25, 0.125}) {
      a.grad(g);
      first->step(0.1f);
      first->zero_grad();
    }
    std::map<std::string, Tensor> saved;
    for (auto& [name, t] : first->state()) saved[name] = t.clone();
    b.p.value().copy_from(a.p.value());
    ASSERT_TRUE(second->load_state(saved).ok());
    a.grad(0.3);
    b.grad(0.3);
    first->step(0.1f);
    second->step(0.1f);
    EXPECT_EQ(a.value(), b.value()) << (adam ? "adam" : "sgd");
  }
}

TEST(Adam, L2WeightDecayEntersTheGradient) {
  Scalar s(1.0);
  Adam opt(host(), {s.p}, {0.9f, 0.999f, 1e-8f, 0.1f, false});
  s.grad(0.5);  // d = 0.6, first step moves by lr whatever d is
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.9, 1e-6);
}

TEST(AdamW, DecoupledWeightDecay) {
  Scalar s(1.0);
  Adam opt(host(), {s.p}, {0.9f, 0.999f, 1e-8f, 0.1f, true});
  s.grad(0.5);
  opt.step(0.1f);
  EXPECT_NEAR(s.value(), 0.89, 1e-6);  // 1 * (1 - 0.01) - 0.1
  EXPECT_EQ(opt.name(), "adamw");
}

TEST(Schedule, ConstantStepCosineWarmup) {
  LrSchedule constant(0.5f, {}, 100);
  EXPECT_FLOAT_EQ(constant.lr(0), 0.5f);
  EXPECT_FLOAT_EQ(constant.lr(99), 0.5f);
  ScheduleOptions st;
  st.kind = LrShape::kStep;
  st.step_size = 2;
  st.gamma = 0.5f;
  LrSchedule step(1.f, st, 100);
  EXPECT_FLOAT_EQ(step.lr(1), 1.f);
  EXPECT_FLOAT_EQ(step.lr(2), 0.5f);
  EXPECT_FLOAT_EQ(step.lr(5), 0.25f);
  ScheduleOptions co;
  co.kind = LrShape::kCosine;
  LrSchedule cosine(1.f, co, 10);
  EXPECT_FLOAT_EQ(cosine.lr(0), 1.f);
  EXPECT_NEAR(cosine.lr(5), 0.5f, 1e-6);
  EXPECT_NEAR(cosine.lr(10), 0.f, 1e-6);
  co.warmup_steps = 4;
  LrSchedule warm(1.f, co, 14);
  EXPECT_FLOAT_EQ(warm.lr(0), 0.25f);
  EXPECT_FLOAT_EQ(warm.lr(3), 1.f);
  EXPECT_FLOAT_EQ(warm.lr(4), 1.f);
  EXPECT_NEAR(warm.lr(9), 0.5f, 1e-6);
}

TEST(Schedule, InverseSquareRootAfterWarmup) {
  ScheduleOptions o;
  o.kind = LrShape::kInverseSqrt;
  o.warmup_steps = 4;
  LrSchedule s(1.f, o, 100);
  EXPECT_FLOAT_EQ(s.lr(0), 0.25f);
  EXPECT_FLOAT_EQ(s.lr(3), 1.f);
  EXPECT_FLOAT_EQ(s.lr(4), std::sqrt(4.f / 5.f));
  EXPECT_FLOAT_EQ(s.lr(15), 0.5f);
}

// Weight decay skips the parameters masked out (biases, norms, embeddings).
TEST(AdamW, DecayMaskLeavesMaskedParametersToTheAdamStep) {
  Scalar a(1.0), b(1.0);
  Adam opt(host(), {a.p, b.p}, {0.9f, 0.999f, 1e-8f, 0.1f, true});
  opt.set_decays({true, false});
  a.grad(0.5);
  b.grad(0.5);
  opt.step(0.1f);
  EXPECT_NEAR(a.value(), 0.89, 1e-6);
  EXPECT_NEAR(b.value(), 0.9, 1e-6);
}

TEST(Clip, ScalesToMaxNormAndLeavesSmallGradientsAlone) {
  Scalar a(0), b(0);
  a.grad(3);
  b.grad(4);
  EXPECT_NEAR(clip_grad_norm(host(), {a.p, b.p}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(a.p.grad().at(0), 0.6, 1e-6);
  EXPECT_NEAR(b.p.grad().at(0), 0.8, 1e-6);
  EXPECT_NEAR(clip_grad_norm(host(), {a.p, b.p}, 10.0), 1.0, 1e-6);
  EXPECT_NEAR(a.p.grad().at(0), 0.6, 1e-6);
}

TEST(LossScaler, SkipsOverflowHalvesUnscalesAndGrows) {
  Scalar a(0), b(0);
  LossScaler scaler(1024.0, /*growth_interval=*/2);
  a.grad(512);
  b.grad(std::numeric_limits<double>::infinity());
  EXPECT_FALSE(scaler.unscale_or_skip(host(), {a.p, b.p}));
  EXPECT_EQ(scaler.scale(), 512.0);
  EXPECT_EQ(scaler.skipped(), 1);
  a.p.zero_grad();
  b.p.zero_grad();
  a.grad(256);
  b.grad(-128);
  EXPECT_TRUE(scaler.unscale_or_skip(host(), {a.p, b.p}));
  EXPECT_DOUBLE_EQ(a.p.grad().at(0), 0.5);
  EXPECT_DOUBLE_EQ(b.p.grad().at(0), -0.25);
  EXPECT_EQ(scaler.scale(), 512.0);
  a.p.zero_grad();
  a.grad(std::nan(""));
  EXPECT_FALSE(scaler.unscale_or_skip(host(), {a.p}));  // NaN too
  EXPECT_EQ(scaler.scale(), 256.0);
  for (int i = 0; i < 2; ++i) {
    a.p.zero_grad();
    a.grad(1);
    EXPECT_TRUE(scaler.unscale_or_skip(host(), {a.p}));
  }
  EXPECT_EQ(scaler.scale(), 512.0);  // two finite steps in a row: doubled
  // Clipping folded in: unscaled gradients (3, 4) have norm 5; clipped to norm 1.
  a.p.zero_grad();
  b.p.zero_grad();
  a.grad(3 * 512);
  b.grad(4 * 512);
  EXPECT_TRUE(scaler.unscale_or_skip(host(), {a.p, b.p}, 1.0));
  EXPECT_NEAR(a.p.grad().at(0), 0.6, 1e-6);
  EXPECT_NEAR(b.p.grad().at(0), 0.8, 1e-6);
}

}  // namespace
}  // namespace ty
