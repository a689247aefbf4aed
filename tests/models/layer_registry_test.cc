// The layer registry against the spec's layer-type table, and layers over several tensors.
#include "models/layer_registry.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"
#include "worker/job/layer_types.h"

namespace ty {
namespace {

TEST(LayerRegistry, EveryLayerTypeOfTheSpecHasABuilderAndEveryBuilderAType) {
  std::vector<std::string> spec_types;
  for (const LayerTypeInfo& t : layer_types()) {
    spec_types.emplace_back(t.name);
    EXPECT_NE(find_layer_builder(t.name), nullptr) << t.name << " is in worker/job/layer_types.cc but no file in "
                                                   << "models/layers/ registers it";
  }
  for (const std::string& name : registered_layer_types())
    EXPECT_NE(std::find(spec_types.begin(), spec_types.end(), name), spec_types.end())
        << name << " is registered but the spec reader does not know it (worker/job/layer_types.cc)";
  EXPECT_EQ(find_layer_builder("conv3d"), nullptr);
}

TEST(LayerRegistry, ATypeWithoutABuilderIsAnErrorNamingTheKey) {
  Context ctx;
  InitRng rng;
  LayerBuild b{ctx, rng};
  Sequential seq({4});
  LayerSpec linear, l;
  linear.out = 2;
  l.type = "conv3d";
  absl::Status st = build_layers(b, {linear, l}, "model.layers", seq);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(std::string(st.message()), "model.layers[1].type: conv3d has no builder in this build");
}

// (D) -> (D), (D): the input and twice the input.
class Fork final : public Layer {
 public:
  explicit Fork(const Shape& in) { out_shape_ = in; }
  Vars apply(Context& ctx, const Vars& xs) override { return {xs[0], ops::add(ctx, xs[0], xs[0])}; }
  std::vector<Shape> out_shapes() const override { return {out_shape_, out_shape_}; }
  std::string describe() const override { return "fork"; }
};

// (D), (D) -> (D): the sum.
class Join final : public Layer {
 public:
  explicit Join(const Shape& in) { out_shape_ = in; }
  Vars apply(Context& ctx, const Vars& xs) override { return {ops::add(ctx, xs[0], xs[1])}; }
  std::string describe() const override { return "join"; }
};

// A layer that implements neither form is a bug found at its first call, not a stack overflow.
class Neither final : public Layer {
 public:
  std::string describe() const override { return "neither"; }
};

TEST(LayersDeathTest, ALayerWithNeitherForwardNorApplyStopsNamingItself) {
  Context ctx;
  Neither layer;
  EXPECT_DEATH(layer.forward(ctx, Var(ctx.zeros({1, 2}))), "neither implements neither forward\\(\\) nor apply\\(\\)");
}

TEST(Layers, SeveralTensorsFlowBetweenLayersAndBackThroughTheGradient) {
  Context ctx;
  Sequential seq({3});
  seq.add(std::make_unique<Fork>(Shape{3}));
  EXPECT_EQ(seq.out_shapes().size(), 2u);
  seq.add(std::make_unique<Join>(Shape{3}));
  EXPECT_EQ(seq.out_shapes().size(), 1u);

  Tensor x = ctx.empty({2, 3});
  for (int64_t i = 0; i < 6; ++i) x.set(i, i);
  Var xv(x, /*requires_grad=*/true);
  Tape tape;
  Var loss;
  {
    TapeScope scope(ctx, &tape);
    Var y = seq.forward(ctx, xv);  // x + 2x
    for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(y.value().at(i), 3.0 * i);
    loss = ops::sum(ctx, y);
  }
  tape.backward(loss);
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(xv.grad().at(i), 3.0);  // d(3x)/dx

  // The general form gives both of Fork's outputs.
  Vars forked = Fork({3}).apply(ctx, {xv});
  ASSERT_EQ(forked.size(), 2u);
  EXPECT_EQ(forked[1].value().at(5), 10.0);
}

}  // namespace
}  // namespace ty
