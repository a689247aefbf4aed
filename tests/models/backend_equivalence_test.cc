// Whole models on the oneDNN backend (activations in blocked layout) against the reference
// backend (plain loops, plain layout): the same loss and the same gradient for every
// parameter, in f32.
#include <cmath>

#include "gtest/gtest.h"
#include "models/model.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"

namespace ty {
namespace {

struct Run {
  double loss;
  std::vector<std::pair<std::string, Tensor>> grads;
};

Run train_step(bool reference, const ModelSpec& spec, const Shape& in, int64_t classes) {
  Context ctx(ContextOptions{{}, 1, 3, reference});
  auto model = build_model(ctx, spec, in, classes, 5);
  CHECK(model.ok()) << model.status();
  Shape xs{6};
  for (int64_t d : in) xs.push_back(d);
  Tensor x = ctx.empty(xs), labels = ctx.empty({6}, DType::kI32);
  Philox rng(9, 9);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.uniform(i) * 2 - 1);
  for (int64_t i = 0; i < 6; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(i % classes);
  Tape tape;
  TapeScope rec(ctx, &tape);
  Var loss = ops::cross_entropy(ctx, (*model)->forward(ctx, Var(x)), labels, 0.1f);
  tape.backward(loss);
  Run r{loss.value().item(), {}};
  for (auto& [name, v] : (*model)->named_params()) {
    EXPECT_TRUE(v.grad().defined()) << name;
    EXPECT_EQ(v.grad().layout(), Layout::kPlain) << name;
    r.grads.emplace_back(name, v.grad().clone());
  }
  return r;
}

void expect_same(const ModelSpec& spec, const Shape& in, int64_t classes) {
  Run fast = train_step(false, spec, in, classes), ref = train_step(true, spec, in, classes);
  EXPECT_NEAR(fast.loss, ref.loss, 1e-5 * std::fabs(ref.loss));
  ASSERT_EQ(fast.grads.size(), ref.grads.size());
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    double diff = 0, norm = 0;
    for (int64_t j = 0; j < ref.grads[i].second.numel(); ++j) {
      const double a = fast.grads[i].second.at(j), b = ref.grads[i].second.at(j);
      diff += (a - b) * (a - b);
      norm += b * b;
    }
    // Relative to the gradient's size, with an absolute floor for gradients that are zero
    // in exact arithmetic (a conv bias right before batch norm) and only rounding noise here.
    const double n = static_cast<double>(ref.grads[i].second.numel());
    EXPECT_LE(std::sqrt(diff), 1e-4 * std::sqrt(norm) + 1e-6 * std::sqrt(n))
        << ref.grads[i].first << ": rms gradient " << std::sqrt(norm / n);
  }
}

TEST(BackendEquivalence, CnnWithPoolingAndDropout) {
  ModelSpec s;
  s.kind = ModelKind::kCnn;
  s.conv = {ConvBlockSpec{16, 3, 1, -1, PoolKind::kMax, 2, false, false},
            ConvBlockSpec{32, 3, 1, -1, PoolKind::kAvg, 2, false, false}};
  s.hidden = {24};
  s.dropout = 0.25f;
  expect_same(s, {1, 12, 12}, 5);
}

TEST(BackendEquivalence, ResidualBatchNormBlocks) {
  ModelSpec s;
  s.kind = ModelKind::kCnn;
  s.conv = {ConvBlockSpec{16, 3, 1, -1, PoolKind::kNone, 2, true, true},
            ConvBlockSpec{32, 3, 2, -1, PoolKind::kMax, 2, true, true}};
  s.hidden = {};
  s.activation = ActivationKind::kGelu;
  expect_same(s, {3, 10, 10}, 4);
}

TEST(BackendEquivalence, LayerListMixingLayouts) {
  ModelSpec s;
  s.kind = ModelKind::kLayers;
  LayerSpec conv, res, relu, ln, flat, lin, inner;
  conv.type = "conv2d";
  conv.out = 16;
  inner.type = "conv2d";
  inner.out = 16;
  res.type = "residual";
  res.layers = {inner};
  relu.type = "leaky_relu";
  flat.type = "flatten";
  ln.type = "layernorm";
  lin.type = "linear";
  lin.out = 3;
  s.layers = {conv, res, relu, flat, ln, lin};
  expect_same(s, {2, 6, 6}, 3);
}

}  // namespace
}  // namespace ty
