// The language models' builders: layers and parameter names, errors naming the key, and
// which parameters weight decay skips.
#include <algorithm>

#include "gtest/gtest.h"
#include "models/model.h"

namespace ty {
namespace {

Context& host() {
  static Context ctx(ContextOptions{{}, 1, 3, false});
  return ctx;
}

TEST(LanguageModel, TransformerDecaysOnlyItsMatricesAndTiesItsLogits) {
  ModelSpec spec;
  spec.kind = ModelKind::kTransformer;
  spec.num_layers = 1;
  spec.heads = 2;
  spec.d_model = 8;
  spec.tie_embeddings = true;
  auto model = build_model(host(), spec, {6}, 20, 1);
  ASSERT_TRUE(model.ok()) << model.status();
  const auto named = (*model)->named_params();
  const std::vector<bool> decays = (*model)->decays(false);
  ASSERT_EQ(decays.size(), named.size());
  std::vector<std::string> decayed;
  for (size_t i = 0; i < named.size(); ++i)
    if (decays[i]) decayed.push_back(named[i].first);
  // Embedding table and positions, norms and biases are left out; the tied logits add none.
  EXPECT_EQ(decayed, (std::vector<std::string>{"1.qkv.weight", "1.proj.weight", "1.fc1.weight", "1.fc2.weight"}));
  EXPECT_EQ(named.front().first, "0.weight");
  EXPECT_EQ((*model)->out_shapes()[0], (Shape{6, 20}));
  const std::vector<bool> all = (*model)->decays(true);
  EXPECT_EQ(std::count(all.begin(), all.end(), true), static_cast<long>(named.size()));
}

TEST(LanguageModel, ShapeErrorsNameTheKey) {
  ModelSpec t;
  t.kind = ModelKind::kTransformer;
  t.d_model = 10;
  t.heads = 4;
  auto bad_heads = build_model(host(), t, {6}, 20, 1);
  EXPECT_NE(bad_heads.status().message().find("model.heads: 4 does not divide model.d_model 10"), std::string::npos)
      << bad_heads.status();
  ModelSpec r;
  r.kind = ModelKind::kRnn;
  r.hidden_size = 16;
  r.embed = 8;
  r.tie_embeddings = true;
  auto untied = build_model(host(), r, {6}, 20, 1);
  EXPECT_NE(untied.status().message().find("model.tie_embeddings: the embedding is 8 wide"), std::string::npos)
      << untied.status();
  auto image = build_model(host(), r, {1, 28, 28}, 10, 1);
  EXPECT_NE(image.status().message().find("model.kind: rnn needs token data"), std::string::npos) << image.status();
}

}  // namespace
}  // namespace ty
