// Model builders: shapes, parameter counts, seeds, and errors for impossible shapes.
#include "models/model.h"

#include <map>

#include "gtest/gtest.h"

namespace ty {
namespace {

LayerSpec L(const char* type, int64_t out = 0) {
  LayerSpec l;
  l.type = type;
  l.out = out;
  return l;
}

ModelSpec cnn_example() {
  ModelSpec s;
  s.kind = ModelKind::kCnn;
  s.conv = {ConvBlockSpec{32, 3, 1, -1, PoolKind::kMax, 2, false, false},
            ConvBlockSpec{64, 3, 1, -1, PoolKind::kMax, 2, false, false}};
  s.hidden = {128};
  s.dropout = 0.25f;
  return s;
}

TEST(BuildModel, MlpParameterCountAndForwardShape) {
  Context ctx;
  ModelSpec s;  // mlp 256-256 relu
  auto m = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->num_params(), 784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
  Var y = (*m)->forward(ctx, Var(ctx.zeros({3, 1, 28, 28})));
  EXPECT_EQ(y.shape(), (Shape{3, 10}));
  EXPECT_EQ((*m)->named_params()[0].first, "1.weight");  // after the flatten
}

TEST(BuildModel, CnnExampleShapes) {
  Context ctx;
  auto m = build_model(ctx, cnn_example(), {1, 28, 28}, 10, 1);
  ASSERT_TRUE(m.ok()) << m.status();
  // conv1 320, conv2 18496, fc 3136*128+128, out 1290
  EXPECT_EQ((*m)->num_params(), 320 + 18496 + 3136 * 128 + 128 + 1290);
  Var y = (*m)->forward(ctx, Var(ctx.zeros({2, 1, 28, 28})));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
}

TEST(BuildModel, SameSeedSameWeightsOtherSeedOtherWeights) {
  Context ctx;
  ModelSpec s;
  auto a = build_model(ctx, s, {20}, 3, 7), b = build_model(ctx, s, {20}, 3, 7), c = build_model(ctx, s, {20}, 3, 8);
  auto sa = (*a)->state(), sb = (*b)->state(), sc = (*c)->state();
  ASSERT_EQ(sa.size(), sb.size());
  int differ = 0;
  for (size_t i = 0; i < sa.size(); ++i)
    for (int64_t j = 0; j < sa[i].second.numel(); ++j) {
      ASSERT_EQ(sa[i].second.at(j), sb[i].second.at(j));
      differ += sa[i].second.at(j) != sc[i].second.at(j);
    }
  EXPECT_GT(differ, 1000);
}

TEST(BuildModel, ResidualBatchNormBlocksAndLayersList) {
  Context ctx;
  ModelSpec s = cnn_example();
  s.conv[0].residual = true;
  s.conv[0].batch_norm = true;
  s.conv[1].residual = true;
  s.conv[1].stride = 2;
  auto m = build_model(ctx, s, {3, 16, 16}, 4, 1);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->forward(ctx, Var(ctx.zeros({2, 3, 16, 16}))).shape(), (Shape{2, 4}));
  EXPECT_FALSE((*m)->buffers().empty());

  ModelSpec l;
  l.kind = ModelKind::kLayers;
  LayerSpec conv = L("conv2d", 8);
  conv.padding = 1;
  LayerSpec res = L("residual");
  res.layers = {L("linear", 16), L("tanh")};
  l.layers = {conv,           L("relu"), L("avgpool"), L("flatten"), L("linear", 16),
              L("layernorm"), L("gelu"), res,          L("dropout"), L("linear", 5)};
  auto lm = build_model(ctx, l, {1, 8, 8}, 5, 1);
  ASSERT_TRUE(lm.ok()) << lm.status();
  EXPECT_EQ((*lm)->forward(ctx, Var(ctx.zeros({3, 1, 8, 8}))).shape(), (Shape{3, 5}));
}

TEST(BuildModel, ImpossibleShapesNameTheKey) {
  Context ctx;
  ModelSpec s = cnn_example();
  s.conv[0].kernel = 31;
  s.conv[0].padding = 0;
  auto m = build_model(ctx, s, {1, 28, 28}, 10, 1);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("model.conv[0]"), std::string::npos) << m.status();

  auto flat = build_model(ctx, cnn_example(), {784}, 10, 1);
  ASSERT_FALSE(flat.ok());
  EXPECT_NE(flat.status().message().find("image data"), std::string::npos) << flat.status();

  ModelSpec deep = cnn_example();
  for (int i = 0; i < 4; ++i) deep.conv.push_back(deep.conv[0]);
  auto d = build_model(ctx, deep, {1, 28, 28}, 10, 1);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("pool size 2 larger than input"), std::string::npos) << d.status();

  ModelSpec l;
  l.kind = ModelKind::kLayers;
  l.layers = {L("linear", 7)};
  auto lm = build_model(ctx, l, {4}, 3, 1);
  ASSERT_FALSE(lm.ok());
  EXPECT_NE(lm.status().message().find("needs (3,) outputs"), std::string::npos) << lm.status();

  l.layers = {L("conv2d", 4)};
  EXPECT_FALSE(build_model(ctx, l, {4}, 3, 1).ok());
}

// A pipeline rank builds its stage alone: the other stages' layers keep their shapes and
// descriptions, not their parameters; the kept ones have the whole build's values.
TEST(BuildModel, AStageBuiltAloneHoldsOnlyItsParametersWithTheWholeBuildsValues) {
  Context ctx;
  ModelSpec s;
  s.hidden = {16, 8};
  s.dropout = 0.1f;
  auto whole = build_model(ctx, s, {12}, 3, 7);
  auto stage = build_model(ctx, s, {12}, 3, 7, DType::kF32, "", {3, 6});
  ASSERT_TRUE(whole.ok() && stage.ok());
  EXPECT_EQ((*stage)->describe(), (*whole)->describe());
  EXPECT_EQ((*stage)->num_layers(), (*whole)->num_layers());
  EXPECT_EQ((*stage)->out_shapes(), (*whole)->out_shapes());
  std::map<std::string, Var> want;
  for (auto& [name, v] : (*whole)->named_params()) want[name] = v;
  const auto got = (*stage)->named_params();
  ASSERT_EQ(got.size(), 2u);  // layer 3: linear 16 -> 8 (layers 4, 5: relu, dropout)
  for (auto& [name, v] : got) {
    EXPECT_EQ(name.rfind("3.", 0), 0u) << name;
    ASSERT_TRUE(want.count(name)) << name;
    ASSERT_EQ(v.value().numel(), want[name].value().numel()) << name;
    for (int64_t i = 0; i < v.value().numel(); ++i) EXPECT_EQ(v.value().at(i), want[name].value().at(i)) << name;
  }
  auto stages = Model::cut(std::move(*stage), {3, 6});
  ASSERT_TRUE(stages.ok()) << stages.status();
  EXPECT_EQ((*stages)[1]->num_params(), 16 * 8 + 8);
}

// Two models in one process keep distinct parameter names (a GAN's two); names are given
// at construction, and reading them changes nothing.
TEST(BuildModel, NamedModelsAndStagesKeepTheirParameterNames) {
  Context ctx;
  ModelSpec s;
  s.hidden = {16, 8};
  auto g = build_model(ctx, s, {12}, 3, 1, DType::kF32, "generator");
  auto d = build_model(ctx, s, {12}, 3, 1, DType::kF32, "critic");
  ASSERT_TRUE(g.ok() && d.ok());
  const auto gp = (*g)->named_params(), dp = (*d)->named_params();
  ASSERT_EQ(gp.size(), dp.size());
  for (size_t i = 0; i < gp.size(); ++i) {
    EXPECT_EQ(gp[i].first.rfind("generator/", 0), 0u) << gp[i].first;
    EXPECT_EQ(gp[i].second.name(), gp[i].first);
    EXPECT_NE(gp[i].second.name(), dp[i].second.name());
  }

  // The same model cut into stages: the stages chained give the whole model's outputs, and
  // each parameter keeps its name.
  auto whole = build_model(ctx, s, {12}, 3, 7);
  auto cut_me = build_model(ctx, s, {12}, 3, 7);
  ASSERT_TRUE(whole.ok() && cut_me.ok());
  const size_t n = (*cut_me)->num_layers();
  std::vector<std::string> names;
  for (auto& [name, v] : (*whole)->named_params()) names.push_back(name);
  auto stages = Model::cut(std::move(*cut_me), {2, n - 1});
  ASSERT_TRUE(stages.ok()) << stages.status();
  ASSERT_EQ(stages->size(), 3u);
  std::vector<std::string> stage_names;
  for (auto& st : *stages)
    for (auto& [name, v] : st->named_params()) stage_names.push_back(name);
  EXPECT_EQ(stage_names, names);
  Tensor x = ctx.zeros({4, 12});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, 0.1 * static_cast<double>(i % 7) - 0.3);
  TapeScope no_grad(ctx, nullptr);
  Var h(x);
  for (auto& st : *stages) h = st->forward(ctx, h);
  const Tensor want = (*whole)->forward(ctx, Var(x)).value();
  for (int64_t i = 0; i < want.numel(); ++i) EXPECT_EQ(h.value().at(i), want.at(i));

  auto bad = build_model(ctx, s, {12}, 3, 7);
  EXPECT_EQ(Model::cut(std::move(*bad), {3, 3}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ty
