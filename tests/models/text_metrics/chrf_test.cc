// chrF against sacreBLEU's own test vectors (test/test_chrf.py and the README of
// github.com/mjpost/sacrebleu, version 2.x), to 1e-4.
#include "models/text_metrics/chrf.h"

#include <gtest/gtest.h>

namespace ty {
namespace {

double chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs, const ChrfOptions& o) {
  auto s = corpus_chrf(hyps, {refs}, o);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? s->score : -1;
}

ChrfOptions beta3(bool eps) {
  ChrfOptions o;
  o.beta = 3;
  o.eps_smoothing = eps;
  return o;
}

TEST(Chrf, ReadmeExample) {
  const std::vector<std::string> hyps = {"The dog bit the man.", "It wasn't surprising.",
                                         "The man had just bitten him."};
  auto s = corpus_chrf(hyps, {{"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
                              {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format(), "chrF2 = 59.73");
}

TEST(Chrf, EpsSmoothingCases) {
  struct Case {
    std::vector<std::string> hyp, ref;
    double expected;
  };
  const Case cases[] = {
      {{"abcdefg"}, {"hijklmnop"}, 0.0},
      {{"a"}, {"b"}, 0.0},
      {{""}, {"b"}, 0.0},
      {{""}, {"ref"}, 0.0},
      {{""}, {"reference"}, 0.0},
      {{"aa"}, {"ab"}, 8.3333},
      {{"a", "b"}, {"a", "c"}, 8.3333},
      {{"a"}, {"a"}, 16.6667},
      {{"a b c"}, {"a b c"}, 50.0},
      {{"a b c"}, {"abc"}, 50.0},
      {{" risk assessment must be made of those who are qualified and expertise in the sector - these are the "
        "scientists ."},
       {"risk assessment has to be undertaken by those who are qualified and expert in that area - that is the "
        "scientists ."},
       63.361730},
      {{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
       {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
       64.1302698},
      {{"Niemand hat die Absicht, eine Mauer zu errichten"}, {"Niemand hat die Absicht, eine Mauer zu errichten"}, 100.0},
  };
  for (const Case& c : cases) EXPECT_NEAR(chrf(c.hyp, c.ref, beta3(true)), c.expected, 1e-4) << c.hyp[0];
}

TEST(Chrf, EffectiveOrderCases) {
  struct Case {
    std::vector<std::string> hyp, ref;
    double expected;
  };
  const Case cases[] = {{{"a"}, {"a"}, 100.0},         {{""}, {"reference"}, 0.0}, {{"a b c"}, {"a b c"}, 100.0},
                        {{"a b c"}, {"abc"}, 100.0},   {{""}, {"c"}, 0.0},         {{"a", "b"}, {"a", "c"}, 50.0},
                        {{"aa"}, {"ab"}, 25.0}};
  for (const Case& c : cases) EXPECT_NEAR(chrf(c.hyp, c.ref, beta3(false)), c.expected, 1e-4) << c.hyp[0];
}

TEST(Chrf, KeepWhitespace) {
  ChrfOptions o = beta3(false);
  o.whitespace = true;
  EXPECT_NEAR(chrf({"Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."},
                   {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."}, o),
              67.3481606, 1e-4);
  EXPECT_NEAR(chrf({"risk assessment must be made of those who are qualified and expertise in the sector - these are "
                    "the scientists ."},
                   {"risk assessment has to be undertaken by those who are qualified and expert in that area - that "
                    "is the scientists ."},
                   o),
              65.2414427, 1e-4);
}

TEST(Chrf, SentenceLevelWithEpsSmoothing) {
  ChrfOptions o;
  o.eps_smoothing = true;
  EXPECT_NEAR(chrf({"Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře."},
                   {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře."}, o),
              39.14078509, 1e-4);
  EXPECT_NEAR(chrf({"Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři."},
                   {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři."}, o),
              31.22557079, 1e-4);
  EXPECT_NEAR(chrf({"Lapali po dechu, jejich životy skončily dřív, než skutečně začaly."},
                   {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli."}, o),
              57.15704367, 1e-4);
}

TEST(Chrf, WordOrderNamesChrfPlusPlus) {
  ChrfOptions o;
  o.word_order = 2;
  auto s = corpus_chrf({"a b c"}, {{"a b c"}}, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->format(), "chrF2++ = 100.00");
  // Punctuation splits off a word's end before word n-grams: "c." matches "c ."
  EXPECT_NEAR(corpus_chrf({"a b c."}, {{"a b c ."}}, o)->score, 100.0, 1e-9);
}

}  // namespace
}  // namespace ty
