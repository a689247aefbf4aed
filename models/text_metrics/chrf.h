// chrF (Popović 2015) exactly as sacreBLEU 2.x computes it: character n-grams up to 6 with
// whitespace removed, optional word n-grams (chrF++), F-beta with beta 2. By default the
// precisions and recalls are averaged over the orders that have n-grams on both sides
// (sacreBLEU's default); `eps_smoothing` averages per-order F scores instead (chrF++.py's).
// With several references each segment keeps the reference with the best F score.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ty {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2 gives chrF++
  int beta = 2;
  bool whitespace = false;  // keep whitespace inside character n-grams
  bool eps_smoothing = false;
};

// Per order (characters, then words): hypothesis n-grams, reference n-grams, matches.
// They add over segments.
using ChrfStats = std::vector<int64_t>;

struct ChrfScore {
  double score = 0;  // 0..100
  std::string name;  // "chrF2", "chrF2++"
  // "chrF2 = 59.73"
  std::string format() const;
};

double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& options = {});

// The statistics of one segment against its best (non-empty) reference.
ChrfStats segment_chrf_stats(const std::string& hypothesis, const std::vector<std::string>& references,
                             const ChrfOptions& options = {});

// references[r][i] as for corpus_bleu: an empty reference is absent; a segment needs one.
absl::StatusOr<ChrfScore> corpus_chrf(const std::vector<std::string>& hypotheses,
                                      const std::vector<std::vector<std::string>>& references,
                                      const ChrfOptions& options = {});

}  // namespace ty
