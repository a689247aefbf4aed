// BLEU against sacreBLEU's own test vectors (test/test_bleu.py and the README of
// github.com/mjpost/sacrebleu, version 2.x), to the 1e-8 (of a fraction) those tests use.
// Its `intl` tokenizer case is not here: trainyard computes 13a (the default) and `none`.
#include "models/text_metrics/bleu.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace ty {
namespace {

using Smooth = BleuOptions::Smooth;

const std::vector<std::string> kReadmeHyps = {"The dog bit the man.", "It wasn't surprising.",
                                              "The man had just bitten him."};
const std::vector<std::vector<std::string>> kReadmeRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

// sacreBLEU's raw_corpus_bleu: floor smoothing, no tokenization, effective order.
BleuOptions raw(double floor) {
  BleuOptions o;
  o.smooth = Smooth::kFloor;
  o.smooth_value = floor;
  o.tokenize = false;
  o.effective_order = true;
  return o;
}

double score(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
             const BleuOptions& o = {}) {
  auto s = corpus_bleu(hyps, refs, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->score : -1;
}

TEST(Bleu, ReadmeExampleFormatsAsSacreBleu) {
  auto s = corpus_bleu(kReadmeHyps, kReadmeRefs);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_NEAR(s->score, 48.530827, 1e-6);
  EXPECT_EQ(s->format(), "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_EQ(s->signature({}), "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp");
}

TEST(Bleu, CorpusCases) {
  EXPECT_NEAR(score({"", "", ""}, kReadmeRefs), 0.0, 1e-8);  // empty hypotheses are kept
  BleuOptions none;
  none.tokenize = false;
  EXPECT_NEAR(score(kReadmeHyps, kReadmeRefs, none), 49.1919566, 1e-6);
  BleuOptions no_smooth;
  no_smooth.smooth = Smooth::kNone;
  EXPECT_NEAR(score(kReadmeHyps, kReadmeRefs, no_smooth), 48.530827, 1e-6);
}

TEST(Bleu, AllEmptyHypothesesScoreZeroAndFormat) {
  auto s = corpus_bleu({"", "", ""}, kReadmeRefs);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format(), "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 0.000 ratio = 0.000 hyp_len = 0 ref_len = 17)");
}

TEST(Bleu, VariableReferencesFromReadme) {
  auto refs = kReadmeRefs;
  refs[0][0] = "";  // the first segment has one reference only
  auto s = corpus_bleu(kReadmeHyps, refs);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format(), "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)");
  EXPECT_EQ(s->signature({}), "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp");
}

TEST(Bleu, RawCorpusCases) {
  // No match at any order scores 0 whatever the smoothing (sacreBLEU 2.0, its issue #141).
  EXPECT_EQ(score({"this is a test", "another test"}, {{"ref1", "ref2"}}, raw(.01)), 0.0);
  EXPECT_NEAR(score({"this is a test"}, {{"this is a test"}}, raw(.01)) / 100, 1.0, 1e-8);
  EXPECT_NEAR(score({"this is a fest"}, {{"this is a test"}}, raw(.01)) / 100, 0.223606797749979, 1e-8);
}

TEST(Bleu, EffectiveOrder) {
  EXPECT_NEAR(score({"test"}, {{"a test"}}, raw(.01)) / 100, 0.3678794411714425, 1e-8);
  EXPECT_NEAR(score({"a test"}, {{"a test"}}, raw(.01)) / 100, 1.0, 1e-8);
  EXPECT_NEAR(score({"a little test"}, {{"a test"}}, raw(.01)) / 100, 0.03218297948685433, 1e-8);
}

TEST(Bleu, Statistics) {
  auto s = corpus_bleu({"am I am a character sequence"}, {{"I am a symbol string sequence a a"}}, raw(.01));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->correct, (std::vector<double>{4, 2, 1, 0}));
  EXPECT_EQ(s->total, (std::vector<double>{6, 5, 4, 3}));
}

TEST(Bleu, ScoringFromStatistics) {
  BleuStats st{11, 11, {9, 7, 5, 3}, {10, 8, 6, 4}};
  BleuOptions o;
  o.smooth = Smooth::kNone;
  EXPECT_NEAR(bleu_from_stats(st, o).score / 100, 0.8375922397, 1e-8);
}

TEST(Bleu, Offset) {
  const std::vector<std::string> hyp = {"am I am a character sequence"};
  const std::vector<std::vector<std::string>> ref = {{"I am a symbol string sequence a a"}};
  EXPECT_NEAR(score(hyp, ref, raw(0.0)) / 100, 0.0, 1e-8);
  EXPECT_NEAR(score(hyp, ref, raw(-1)) / 100, 0.1555722182, 1e-8);  // the floor's default 0.1
}

TEST(Bleu, DegenerateStatisticsAreExactlyZero) {
  struct Case {
    BleuStats stats;
    double floor;
  };
  const Case cases[] = {{{0, 1, {0, 0, 0, 0}, {4, 4, 2, 1}}, 0.0},  {{14, 10, {0, 0, 0, 0}, {10, 11, 12, 0}}, 0.0},
                        {{0, 0, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0.0},  {{6, 6, {6, 5, 4, 0}, {6, 5, 4, 3}}, 0.0},
                        {{0, 0, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0.1},  {{1, 5, {0, 0, 0, 0}, {0, 0, 0, 0}}, 0.01}};
  for (const Case& c : cases) {
    BleuOptions o;
    o.smooth = Smooth::kFloor;
    o.smooth_value = c.floor;
    EXPECT_EQ(bleu_from_stats(c.stats, o).score, 0.0);
  }
}

TEST(Bleu, MaxOrder) {
  const char* expected[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuOptions o;
    o.max_order = order;
    char text[16];
    std::snprintf(text, sizeof text, "%.2f", score(kReadmeHyps, kReadmeRefs, o));
    EXPECT_STREQ(text, expected[order - 1]) << "max_order " << order;
  }
}

TEST(Bleu, StatisticsAddUpAcrossSegments) {
  BleuStats a = segment_bleu_stats(kReadmeHyps[0], {kReadmeRefs[0][0], kReadmeRefs[1][0]});
  for (size_t i = 1; i < kReadmeHyps.size(); ++i)
    a.add(segment_bleu_stats(kReadmeHyps[i], {kReadmeRefs[0][i], kReadmeRefs[1][i]}));
  EXPECT_NEAR(bleu_from_stats(a).score, 48.530827, 1e-6);
}

TEST(Bleu, RefusesMisalignedStreamsAndMissingReferences) {
  auto s = corpus_bleu({"a", "b"}, {{"a"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("2 hypotheses but reference stream 1 has 1 lines"), std::string::npos);
  s = corpus_bleu({"a", "b"}, {{"a", ""}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("segment 2 has no reference"), std::string::npos);
}

}  // namespace
}  // namespace ty
