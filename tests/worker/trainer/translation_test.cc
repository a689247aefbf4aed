// Decoding a seq2seq model (Transformer or attentional RNN): greedy decoding through the caches
// (or the RNN's carried states) picks what full forwards over
// the growing output pick, and a beam wide enough to keep every hypothesis finds the best
// normalized score over every output up to the length limit (checked by enumeration).
#include "worker/trainer/translation.h"

#include <cmath>
#include <functional>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {


// Both architectures: a Transformer, and an attentional RNN (LSTM or GRU).
class Translation : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ModelSpec spec;
    spec.kind = ModelKind::kSeq2seq;
    spec.num_layers = 2;
    spec.heads = 2;
    spec.d_model = 16;
    spec.d_ff = 24;
    if (GetParam() != "transformer") {
      spec.arch = Seq2seqArch::kRnn;
      spec.cell = GetParam() == "lstm" ? RnnCell::kLstm : RnnCell::kGru;
      spec.hidden_size = 12;
      spec.embed = 10;
    }
    auto m = build_model(ctx_, spec, {8}, vocab_, 3, DType::kF64);
    ASSERT_TRUE(m.ok()) << m.status();
    model_ = std::move(*m);
    model_->set_training(false);
    // A random model's likeliest token may well be the end marker: the end marker is the
    // token it finds least likely first, so that outputs have some length.
    const Tensor lp = next_logp({3, 4, 5}, {});
    for (int32_t v = 1; v < vocab_; ++v)
      if (lp.at(v) < lp.at(eos_)) eos_ = v;
    bos_ = eos_ == 1 ? 0 : 1;
  }

  // Log-probabilities (T, V) of every next token after [<s>, out...] for `src` by one full
  // forward.
  Tensor next_logp(const std::vector<int32_t>& src, const std::vector<int32_t>& out) {
    TapeScope none(ctx_, nullptr);
    const int64_t ls = static_cast<int64_t>(src.size()) + 1, lt = static_cast<int64_t>(out.size()) + 1;
    Tensor s = Tensor::empty(host_memory(), {1, ls}, DType::kI32), len = Tensor::empty(host_memory(), {1}, DType::kI32),
           t = Tensor::empty(host_memory(), {1, lt}, DType::kI32);
    std::copy(src.begin(), src.end(), s.data<int32_t>());
    s.data<int32_t>()[ls - 1] = eos_;
    len.data<int32_t>()[0] = static_cast<int32_t>(ls);
    t.data<int32_t>()[0] = bos_;
    std::copy(out.begin(), out.end(), t.data<int32_t>() + 1);
    const Var y = model_->apply(ctx_, {Var(s), Var(len), Var(t)})[0];
    return ops::log_softmax(ctx_, ops::reshape(ctx_, y, {lt, vocab_})).value().clone();
  }

  Context ctx_{ContextOptions{{}, 1, 7, false}};
  int32_t bos_ = 1, eos_ = 0;
  const int64_t vocab_ = 7;
  std::unique_ptr<Model> model_;
};

TEST_P(Translation, GreedyThroughTheCacheMatchesFullForwards) {
  auto translator = Translator::create(ctx_, *model_, bos_, eos_);
  ASSERT_TRUE(translator.ok()) << translator.status();
  const std::vector<std::vector<int32_t>> sources = {{3, 4, 5}, {6}, {5, 5, 3, 4, 6, 0}};
  DecodeOptions greedy;
  greedy.max_len_a = 0;
  greedy.max_len_b = 6;
  greedy.batch = 2;  // two batches, one of two sentences of different lengths
  const auto out = translator->translate(sources, greedy);
  ASSERT_EQ(out.size(), sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    std::vector<int32_t> want;
    for (int step = 0; step <= 6; ++step) {
      const Tensor lp = next_logp(sources[i], want);
      const int64_t last = static_cast<int64_t>(want.size()) * vocab_;
      int32_t best = 0;
      for (int32_t v = 1; v < vocab_; ++v)
        if (lp.at(last + v) > lp.at(last + best)) best = v;
      if (best == eos_ || step == 6) break;
      want.push_back(best);
    }
    EXPECT_EQ(out[i], want) << "sentence " << i;
  }
  size_t tokens = 0;
  for (const auto& o : out) tokens += o.size();
  EXPECT_GE(tokens, 4u) << "outputs of some length, so that the cache is exercised";
}

TEST_P(Translation, AWideBeamFindsTheBestOutputWithinTheLimit) {
  auto translator = Translator::create(ctx_, *model_, bos_, eos_);
  ASSERT_TRUE(translator.ok()) << translator.status();
  const std::vector<int32_t> src = {3, 4, 5};
  size_t longest = 0;
  for (const float lp : {0.f, 1.f, 3.f}) {
    DecodeOptions wide;
    wide.beam = 512;  // more than the 1 + 6 + 36 + 216 outputs there are: none is dropped
    wide.length_penalty = lp;
    wide.max_len_a = 0;
    wide.max_len_b = 3;
    const auto out = translator->translate({src}, wide);
    // Every output of up to 3 tokens (none of them </s>), then </s>.
    double best = -INFINITY;
    std::vector<int32_t> best_ids;
    std::function<void(std::vector<int32_t>&, double)> walk = [&](std::vector<int32_t>& ids, double score) {
      const Tensor logp = next_logp(src, ids);
      const int64_t last = static_cast<int64_t>(ids.size()) * vocab_;
      const double finished = (score + logp.at(last + eos_)) / std::pow(double(ids.size() + 1), lp);
      if (finished > best) best = finished, best_ids = ids;
      if (ids.size() == 3) return;
      for (int32_t v = 0; v < vocab_; ++v) {
        if (v == eos_) continue;
        ids.push_back(v);
        walk(ids, score + logp.at(last + v));
        ids.pop_back();
      }
    };
    std::vector<int32_t> start;
    walk(start, 0.0);
    EXPECT_EQ(out[0], best_ids) << "length penalty " << lp;
    longest = std::max(longest, best_ids.size());
  }
  EXPECT_GE(longest, 2u) << "a case where the best output has tokens";
}

TEST_P(Translation, RefusesAModelThatIsNotSeq2seq) {
  ModelSpec lm;
  lm.kind = ModelKind::kTransformer;
  lm.num_layers = 1;
  lm.heads = 2;
  lm.d_model = 8;
  auto m = build_model(ctx_, lm, {8}, vocab_, 3);
  ASSERT_TRUE(m.ok());
  auto t = Translator::create(ctx_, **m, bos_, eos_);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("not a seq2seq model"), std::string::npos) << t.status();
}

INSTANTIATE_TEST_SUITE_P(Archs, Translation, ::testing::Values("transformer", "lstm", "gru"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ty
