#include "models/text_metrics/chrf.h"

#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/text_metrics/python_text.h"
#include "models/text_metrics/references.h"
#include "runtime/status.h"

namespace ty {
namespace {

// One order's n-grams and their counts: characters as UTF-32 strings, words joined by spaces
// (encoded the same way so one map type serves both).
using Counts = absl::flat_hash_map<std::u32string, int64_t>;

std::vector<Counts> char_ngrams(const std::string& line, const ChrfOptions& options) {
  std::u32string text = decode_utf8(line);
  if (!options.whitespace) std::erase_if(text, is_python_space);
  std::vector<Counts> out(options.char_order);
  for (int n = 1; n <= options.char_order; ++n)
    for (size_t i = 0; i + n <= text.size(); ++i) ++out[n - 1][text.substr(i, n)];
  return out;
}

bool is_punctuation(std::string_view w, size_t i) {
  static constexpr std::string_view kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  return kPunct.find(w[i]) != std::string_view::npos;
}

// sacreBLEU's _remove_punctuation: a word of two or more characters loses one punctuation
// mark at its end, or else at its start, as a word of its own.
std::vector<std::string> words_for_chrf(const std::string& line) {
  std::vector<std::string> words;
  for (const std::string_view w : split_python_words(line)) {
    if (decode_utf8(w).size() == 1) {
      words.emplace_back(w);
    } else if (is_punctuation(w, w.size() - 1)) {
      words.emplace_back(w.substr(0, w.size() - 1));
      words.emplace_back(w.substr(w.size() - 1));
    } else if (is_punctuation(w, 0)) {
      words.emplace_back(w.substr(0, 1));
      words.emplace_back(w.substr(1));
    } else {
      words.emplace_back(w);
    }
  }
  return words;
}

std::vector<Counts> all_ngrams(const std::string& line, const ChrfOptions& options) {
  std::vector<Counts> out = char_ngrams(line, options);
  if (options.word_order > 0) {
    const std::vector<std::string> words = words_for_chrf(line);
    for (int n = 1; n <= options.word_order; ++n) {
      Counts& counts = out.emplace_back();
      for (size_t i = 0; i + n <= words.size(); ++i)
        ++counts[decode_utf8(absl::StrJoin(words.begin() + i, words.begin() + i + n, " "))];
    }
  }
  return out;
}

// [hyp, ref, match] per order; hypothesis n-grams count only where the reference has some.
ChrfStats match_stats(const std::vector<Counts>& hyp, const std::vector<Counts>& ref) {
  ChrfStats stats;
  for (size_t k = 0; k < hyp.size(); ++k) {
    int64_t hyp_count = 0, ref_count = 0, match = 0;
    for (const auto& [gram, count] : hyp[k]) {
      hyp_count += count;
      const auto it = ref[k].find(gram);
      if (it != ref[k].end()) match += std::min(count, it->second);
    }
    for (const auto& [gram, count] : ref[k]) ref_count += count;
    stats.insert(stats.end(), {ref[k].empty() ? 0 : hyp_count, ref_count, match});
  }
  return stats;
}

}  // namespace

double chrf_from_stats(const ChrfStats& stats, const ChrfOptions& options) {
  constexpr double kEps = 1e-16;
  const int orders = options.char_order + options.word_order;
  const double factor = static_cast<double>(options.beta) * options.beta;
  double eps_sum = 0, avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (int i = 0; i < orders; ++i) {
    const auto n_hyp = static_cast<double>(stats[3 * i]), n_ref = static_cast<double>(stats[3 * i + 1]),
               n_match = static_cast<double>(stats[3 * i + 2]);
    const double prec = n_hyp > 0 ? n_match / n_hyp : kEps;
    const double rec = n_ref > 0 ? n_match / n_ref : kEps;
    const double denom = factor * prec + rec;
    eps_sum += denom > 0 ? (1 + factor) * prec * rec / denom : kEps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_prec += prec;
      avg_rec += rec;
      ++effective;
    }
  }
  if (options.eps_smoothing) return 100 * eps_sum / orders;
  if (effective == 0) return 0.0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0.0;
  return 100 * (1 + factor) * avg_prec * avg_rec / (factor * avg_prec + avg_rec);
}

ChrfStats segment_chrf_stats(const std::string& hypothesis, const std::vector<std::string>& references,
                             const ChrfOptions& options) {
  const std::vector<Counts> hyp = all_ngrams(hypothesis, options);
  ChrfStats best;
  double best_f = -1.0;
  for (const std::string& ref : references) {
    ChrfStats stats = match_stats(hyp, all_ngrams(ref, options));
    const double f = chrf_from_stats(stats, options);
    if (f > best_f) {
      best_f = f;
      best = std::move(stats);
    }
  }
  return best;
}

absl::StatusOr<ChrfScore> corpus_chrf(const std::vector<std::string>& hypotheses,
                                      const std::vector<std::vector<std::string>>& references,
                                      const ChrfOptions& options) {
  TY_ASSIGN_OR_RETURN(const auto refs, references_per_segment(hypotheses.size(), references, "chrF"));
  ChrfStats sum(3 * (options.char_order + options.word_order), 0);
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const ChrfStats stats = segment_chrf_stats(hypotheses[i], refs[i], options);
    for (size_t k = 0; k < sum.size(); ++k) sum[k] += stats[k];
  }
  ChrfScore score;
  score.score = chrf_from_stats(sum, options);
  score.name = absl::StrCat("chrF", options.beta, std::string(options.word_order, '+'));
  return score;
}

std::string ChrfScore::format() const { return absl::StrFormat("%s = %.2f", name, score); }

}  // namespace ty
