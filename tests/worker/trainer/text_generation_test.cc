// Generation from a language model: the Transformer's cached path (one position per new
// token) picks what a full forward over the whole sequence picks, and a seed repeats its
// text.
#include "worker/trainer/text_generation.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

// The byte vocabulary as data import text writes it.
std::vector<std::string> byte_table() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b)
    t.push_back(std::isprint(b) && b != ' ' ? std::string(1, char(b))
                                            : absl::StrCat("<0x", absl::Hex(b, absl::kZeroPad2), ">"));
  return t;
}

// The greedy continuation by full forwards over the whole sequence each token.
std::string greedy_by_full_forwards(Context& ctx, Model& model, const Vocabulary& vocab, const std::string& prompt,
                                    int64_t tokens) {
  std::vector<int32_t> ids = *vocab.encode(prompt);
  TapeScope none(ctx, nullptr);
  for (int64_t i = 0; i < tokens; ++i) {
    Tensor t = Tensor::empty(host_memory(), {1, static_cast<int64_t>(ids.size())}, DType::kI32);
    std::copy(ids.begin(), ids.end(), t.data<int32_t>());
    const Tensor y = model.forward(ctx, Var(t)).value();
    const int64_t v = y.shape()[2], last = (y.shape()[1] - 1) * v;
    int32_t best = 0;
    for (int32_t j = 1; j < v; ++j)
      if (y.at(last + j) > y.at(last + best)) best = j;
    ids.push_back(best);
  }
  return vocab.decode(ids);
}

TEST(TextGeneration, CachedTransformerMatchesFullForwardsAndSeedsRepeat) {
  Context ctx(ContextOptions{{}, 1, 7, false});
  ModelSpec spec;
  spec.kind = ModelKind::kTransformer;
  spec.num_layers = 2;
  spec.heads = 2;
  spec.d_model = 16;
  spec.context = 24;
  auto model = build_model(ctx, spec, {24}, 256, 5);
  ASSERT_TRUE(model.ok()) << model.status();
  (*model)->set_training(false);
  const Vocabulary vocab = Vocabulary::of(byte_table());
  ASSERT_TRUE(vocab.bytes());
  SampleOptions greedy{"In the", 12, 0.f, 0, 1};
  auto cached = generate_text(ctx, **model, vocab, 24, greedy);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(*cached, greedy_by_full_forwards(ctx, **model, vocab, "In the", 12));
  EXPECT_EQ(cached->substr(0, 6), "In the");
  // Past the context (24 positions) the cache is refilled: still runs, still the length.
  greedy.tokens = 40;
  auto longer = generate_text(ctx, **model, vocab, 24, greedy);
  ASSERT_TRUE(longer.ok()) << longer.status();
  EXPECT_EQ(longer->size(), 46u);
  SampleOptions sampled{"In the", 20, 1.f, 5, 3};
  EXPECT_EQ(*generate_text(ctx, **model, vocab, 24, sampled), *generate_text(ctx, **model, vocab, 24, sampled));
  sampled.seed = 4;
  EXPECT_NE(*generate_text(ctx, **model, vocab, 24, sampled),
            *generate_text(ctx, **model, vocab, 24, SampleOptions{"In the", 20, 1.f, 5, 3}));
  EXPECT_FALSE(generate_text(ctx, **model, vocab, 24, SampleOptions{"", 3}).ok());
}

TEST(TextGeneration, RnnRunsItsWindowAndWordPromptsMustBeInTheVocabulary) {
  Context ctx(ContextOptions{{}, 1, 7, false});
  ModelSpec spec;
  spec.kind = ModelKind::kRnn;
  spec.cell = RnnCell::kGru;
  spec.num_layers = 1;
  spec.hidden_size = 8;
  const Vocabulary words = Vocabulary::of({"the", "lord", "said", "unto", "moses"});
  auto model = build_model(ctx, spec, {6}, words.size(), 5);
  ASSERT_TRUE(model.ok()) << model.status();
  auto text = generate_text(ctx, **model, words, 6, SampleOptions{"the lord", 10, 0.5f, 0, 2});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->substr(0, 8), "the lord");
  auto unknown = generate_text(ctx, **model, words, 6, SampleOptions{"the pharaoh", 3});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'pharaoh' is not in the vocabulary"), std::string::npos)
      << unknown.status();
}

}  // namespace
}  // namespace ty
