// The seq2seq builder: its layers and parameter names, a decoder that sees no later target
// token, and source padding that changes nothing; errors naming the key.
#include "models/seq2seq.h"

#include "gtest/gtest.h"
#include "models/model.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

Context& host() {
  static Context ctx(ContextOptions{{}, 1, 3, false});
  return ctx;
}

ModelSpec small_spec() {
  ModelSpec spec;
  spec.kind = ModelKind::kSeq2seq;
  spec.num_layers = 1;
  spec.decoder_layers = 2;
  spec.heads = 2;
  spec.d_model = 8;
  spec.d_ff = 12;
  spec.tie_embeddings = true;
  return spec;
}

Tensor ids(Shape shape, std::vector<int32_t> v) {
  Tensor t = Tensor::empty(host_memory(), std::move(shape), DType::kI32);
  std::copy(v.begin(), v.end(), t.data<int32_t>());
  return t;
}

// Logits (N, Lt, V) of the model for sources (padded), their lengths and decoder inputs.
Tensor logits(Model& m, const Tensor& src, const Tensor& len, const Tensor& tgt) {
  TapeScope none(host(), nullptr);
  return m.apply(host(), {Var(src), Var(len), Var(tgt)})[0].value().clone();
}

TEST(Seq2seq, LayersAndNames) {
  auto model = build_model(host(), small_spec(), {5}, 11, 1, DType::kF64);
  ASSERT_TRUE(model.ok()) << model.status();
  // embedding, 1 encoder block, encoder norm, 2 decoder blocks, output
  EXPECT_EQ((*model)->num_layers(), 6u);
  std::vector<std::string> names;
  for (const auto& [name, v] : (*model)->named_params()) names.push_back(name);
  EXPECT_EQ(names.front(), "0.weight");
  EXPECT_NE(std::find(names.begin(), names.end(), "3.cross_kv.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "5.norm.weight"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "5.out.weight"), names.end()) << "tied logits own no weight";
  EXPECT_EQ((*model)->out_shapes()[0], (Shape{5, 11}));
}

class Seq2seqArchs : public ::testing::TestWithParam<std::string> {};

TEST_P(Seq2seqArchs, DecoderIsCausalAndSourcePaddingInvisible) {
  ModelSpec spec = small_spec();
  if (GetParam() != "transformer") {
    spec.arch = Seq2seqArch::kRnn;
    spec.cell = GetParam() == "lstm" ? RnnCell::kLstm : RnnCell::kGru;
    spec.hidden_size = 6;
    spec.embed = 5;
    spec.tie_embeddings = false;
  }
  auto model = build_model(host(), spec, {5}, 11, 1, DType::kF64);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->set_training(false);
  const Tensor src = ids({2, 5}, {3, 4, 5, 2, 2, 6, 7, 2, 2, 2}), len = ids({2}, {4, 3});
  const Tensor tgt = ids({2, 5}, {1, 8, 9, 10, 3, 1, 4, 4, 5, 6});
  const Tensor y = logits(**model, src, len, tgt);
  // Later target tokens change nothing before them.
  Tensor later = tgt.clone();
  later.data<int32_t>()[4] = 7, later.data<int32_t>()[9] = 9;
  const Tensor y2 = logits(**model, src, len, later);
  const int64_t v = 11;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t t = 0; t < 4; ++t)
      for (int64_t j = 0; j < v; ++j) EXPECT_EQ(y.at((n * 5 + t) * v + j), y2.at((n * 5 + t) * v + j));
  EXPECT_NE(y.at((0 * 5 + 4) * v), y2.at((0 * 5 + 4) * v)) << "the last position does see its own input";
  // Source tokens past a sequence's length change nothing at all.
  Tensor padded = src.clone();
  padded.data<int32_t>()[4] = 9, padded.data<int32_t>()[8] = 3, padded.data<int32_t>()[9] = 7;
  const Tensor y3 = logits(**model, padded, len, tgt);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.at(i), y3.at(i)) << i;
  // A source token within the length does.
  Tensor inside = src.clone();
  inside.data<int32_t>()[0] = 9;
  EXPECT_NE(logits(**model, inside, len, tgt).at(0), y.at(0));
}

INSTANTIATE_TEST_SUITE_P(Archs, Seq2seqArchs, ::testing::Values("transformer", "lstm", "gru"),
                         [](const auto& info) { return info.param; });

TEST(Seq2seq, RnnLayersAndNames) {
  ModelSpec spec = small_spec();
  spec.arch = Seq2seqArch::kRnn;
  spec.hidden_size = 6;
  spec.embed = 5;
  spec.tie_embeddings = false;
  auto model = build_model(host(), spec, {5}, 11, 1, DType::kF64);
  ASSERT_TRUE(model.ok()) << model.status();
  // embedding, 1 bidirectional layer, the attentional decoder (2 cells), output
  EXPECT_EQ((*model)->num_layers(), 4u);
  std::vector<std::string> names;
  for (const auto& [name, v] : (*model)->named_params()) names.push_back(name);
  for (const char* want : {"1.backward.weight_hh", "2.cell1.weight_ih", "2.memory_kv.weight", "3.out.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  EXPECT_EQ((*model)->out_shapes()[0], (Shape{5, 11}));
  spec.tie_embeddings = true;
  auto tied = build_model(host(), spec, {5}, 11, 1);
  EXPECT_NE(tied.status().message().find("model.tie_embeddings: for model.arch transformer"), std::string::npos)
      << tied.status();
}

TEST(Seq2seq, ErrorsNameTheKey) {
  ModelSpec spec = small_spec();
  spec.d_model = 10;
  spec.heads = 4;
  auto bad = build_model(host(), spec, {5}, 11, 1);
  EXPECT_NE(bad.status().message().find("model.heads: 4 does not divide model.d_model 10"), std::string::npos)
      << bad.status();
  spec = small_spec();
  spec.context = 3;
  bad = build_model(host(), spec, {5}, 11, 1);
  EXPECT_NE(bad.status().message().find("model.context: 3 positions"), std::string::npos) << bad.status();
  bad = build_model(host(), small_spec(), {1, 28, 28}, 10, 1);
  EXPECT_NE(bad.status().message().find("model.kind: seq2seq needs token pairs"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace ty
