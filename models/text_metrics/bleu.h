// Corpus BLEU exactly as sacreBLEU 2.x computes it by default (Post 2018, "A Call for
// Clarity in Reporting BLEU Scores"): 13a tokenization, n-grams up to 4, exponential
// smoothing, brevity penalty against the closest reference length, several references.
//
// Per segment: the hypothesis and each non-empty reference are right-stripped and tokenized;
// a hypothesis n-gram counts as correct up to the most times it occurs in any one reference;
// the reference length is the one closest to the hypothesis's (the shorter on a tie). The
// corpus sums these and scores
//   BLEU = BP * exp(mean over n of log p_n),  BP = exp(1 - ref_len / hyp_len) if shorter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

struct BleuOptions {
  // exp: a zero precision at order n becomes 100 / (2^k * total_n), k counting the zeros so
  // far (mteval's); floor: 100 * value / total_n; add-k: value added to correct and total
  // for n > 1; none: a zero precision zeroes the score.
  enum class Smooth { kNone, kFloor, kAddK, kExp };
  Smooth smooth = Smooth::kExp;
  double smooth_value = -1;  // < 0: the method's default (floor 0.1, add-k 1)
  int max_order = 4;
  bool effective_order = false;  // average only the orders with n-grams (sentence BLEU)
  bool tokenize = true;          // 13a; false: split on whitespace only (sacreBLEU's `none`)
};

// Sufficient statistics: they add over segments (and over ranks).
struct BleuStats {
  int64_t hyp_len = 0, ref_len = 0;
  std::vector<double> correct, total;  // per order 1..max_order
  void add(const BleuStats& other);
};

struct BleuScore {
  double score = 0;                // 0..100
  std::vector<double> precisions;  // per order, percent
  double bp = 0, ratio = 0;
  int64_t hyp_len = 0, ref_len = 0;
  std::vector<double> correct, total;
  int nrefs = 0;  // references per segment; -1 where the count varies

  // "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)"
  std::string format() const;
  // "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp"
  std::string signature(const BleuOptions& options) const;
};

// The score from summed statistics (sacreBLEU's BLEU.compute_bleu).
BleuScore bleu_from_stats(BleuStats stats, const BleuOptions& options = {});

// references[r][i] is the r-th reference of hypothesis i; an empty reference is absent (a
// variable number per segment), and a segment with none is an error naming it.
absl::StatusOr<BleuScore> corpus_bleu(const std::vector<std::string>& hypotheses,
                                      const std::vector<std::vector<std::string>>& references,
                                      const BleuOptions& options = {});

// The statistics of one segment against its (non-empty) references.
BleuStats segment_bleu_stats(const std::string& hypothesis,
                             const std::vector<std::string>& references,
                             const BleuOptions& options = {});

}  // namespace ty
