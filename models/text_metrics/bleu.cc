#include "models/text_metrics/bleu.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/status.h"
#include "models/text_metrics/python_text.h"
#include "models/text_metrics/references.h"
#include "models/text_metrics/tokenizer_13a.h"

namespace ty {
namespace {

// Per order, each n-gram (its tokens joined by spaces, which no token holds) and its count.
using NgramCounts = std::vector<absl::flat_hash_map<std::string, int64_t>>;

std::string preprocess(const std::string& line, const BleuOptions& options) {
  const std::string_view stripped = rstrip_python(line);
  return options.tokenize ? tokenize_13a(stripped) : std::string(stripped);
}

// The tokens of a preprocessed line and the counts of their n-grams up to max_order.
NgramCounts count_ngrams(const std::string& line, int max_order, int64_t* length) {
  const std::vector<std::string_view> tokens = split_python_words(line);
  *length = static_cast<int64_t>(tokens.size());
  NgramCounts counts(max_order);
  for (int n = 1; n <= max_order; ++n)
    for (size_t i = 0; i + n <= tokens.size(); ++i)
      ++counts[n - 1][join_words(tokens, i, i + n)];
  return counts;
}

int64_t closest_ref_len(int64_t hyp_len, const std::vector<int64_t>& ref_lens) {
  int64_t best_diff = -1, best_len = -1;
  for (const int64_t len : ref_lens) {
    const int64_t diff = std::llabs(hyp_len - len);
    if (best_diff == -1 || diff < best_diff) {
      best_diff = diff;
      best_len = len;
    } else if (diff == best_diff && len < best_len) {
      best_len = len;
    }
  }
  return best_len;
}

double log_or_floor(double p) { return p == 0.0 ? -9999999999.0 : std::log(p); }

}  // namespace

void BleuStats::add(const BleuStats& other) {
  hyp_len += other.hyp_len;
  ref_len += other.ref_len;
  if (correct.size() < other.correct.size()) correct.resize(other.correct.size(), 0);
  if (total.size() < other.total.size()) total.resize(other.total.size(), 0);
  for (size_t n = 0; n < other.correct.size(); ++n) correct[n] += other.correct[n];
  for (size_t n = 0; n < other.total.size(); ++n) total[n] += other.total[n];
}

BleuStats segment_bleu_stats(const std::string& hypothesis,
                             const std::vector<std::string>& references,
                             const BleuOptions& options) {
  const int orders = options.max_order;
  NgramCounts ref_max(orders);
  std::vector<int64_t> ref_lens;
  for (const std::string& ref : references) {
    int64_t len = 0;
    NgramCounts counts = count_ngrams(preprocess(ref, options), orders, &len);
    ref_lens.push_back(len);
    for (int n = 0; n < orders; ++n)
      for (auto& [gram, count] : counts[n]) {
        int64_t& best = ref_max[n][gram];
        best = std::max(best, count);
      }
  }
  BleuStats stats;
  const NgramCounts hyp = count_ngrams(preprocess(hypothesis, options), orders, &stats.hyp_len);
  stats.ref_len = closest_ref_len(stats.hyp_len, ref_lens);
  stats.correct.assign(orders, 0);
  stats.total.assign(orders, 0);
  for (int n = 0; n < orders; ++n) {
    stats.total[n] = static_cast<double>(std::max<int64_t>(0, stats.hyp_len - n));
    for (const auto& [gram, count] : hyp[n]) {
      const auto it = ref_max[n].find(gram);
      if (it != ref_max[n].end()) stats.correct[n] += static_cast<double>(std::min(count, it->second));
    }
  }
  return stats;
}

BleuScore bleu_from_stats(BleuStats stats, const BleuOptions& options) {
  using Smooth = BleuOptions::Smooth;
  const int orders = options.max_order;
  stats.correct.resize(orders, 0);
  stats.total.resize(orders, 0);
  double smooth_value = options.smooth_value;
  if (smooth_value < 0) smooth_value = options.smooth == Smooth::kFloor ? 0.1 : 1.0;

  BleuScore s;
  s.hyp_len = stats.hyp_len;
  s.ref_len = stats.ref_len;
  s.ratio = s.ref_len ? static_cast<double>(s.hyp_len) / static_cast<double>(s.ref_len) : 0.0;
  if (s.hyp_len < s.ref_len)
    s.bp = s.hyp_len > 0 ? std::exp(1.0 - static_cast<double>(s.ref_len) / static_cast<double>(s.hyp_len)) : 0.0;
  else
    s.bp = 1.0;
  s.precisions.assign(orders, 0.0);
  s.correct = stats.correct;
  s.total = stats.total;
  bool any_correct = false;
  for (const double c : stats.correct) any_correct |= c != 0;
  if (!any_correct) return s;  // no match at any order: 0, whatever the smoothing

  double mteval_divisor = 1.0;
  int effective = orders;
  for (int n = 0; n < orders; ++n) {
    if (options.smooth == Smooth::kAddK && n > 0) {
      s.correct[n] += smooth_value;
      s.total[n] += smooth_value;
    }
    if (s.total[n] == 0) break;
    if (options.effective_order) effective = n + 1;
    if (s.correct[n] == 0) {
      if (options.smooth == Smooth::kExp) {
        mteval_divisor *= 2;
        s.precisions[n] = 100.0 / (mteval_divisor * s.total[n]);
      } else if (options.smooth == Smooth::kFloor) {
        s.precisions[n] = 100.0 * smooth_value / s.total[n];
      }
    } else {
      s.precisions[n] = 100.0 * s.correct[n] / s.total[n];
    }
  }
  double log_sum = 0;
  for (int n = 0; n < effective; ++n) log_sum += log_or_floor(s.precisions[n]);
  s.score = s.bp * std::exp(log_sum / effective);
  return s;
}

absl::StatusOr<BleuScore> corpus_bleu(const std::vector<std::string>& hypotheses,
                                      const std::vector<std::vector<std::string>>& references,
                                      const BleuOptions& options) {
  TY_ASSIGN_OR_RETURN(const auto refs, references_per_segment(hypotheses.size(), references, "BLEU"));
  BleuStats sum;
  std::set<size_t> ref_counts;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    ref_counts.insert(refs[i].size());
    sum.add(segment_bleu_stats(hypotheses[i], refs[i], options));
  }
  BleuScore score = bleu_from_stats(sum, options);
  score.nrefs = ref_counts.size() > 1 ? -1 : ref_counts.empty() ? static_cast<int>(references.size())
                                                                : static_cast<int>(*ref_counts.begin());
  return score;
}

std::string BleuScore::format() const {
  std::vector<std::string> parts;
  for (const double p : precisions) parts.push_back(absl::StrFormat("%.1f", p));
  return absl::StrFormat("BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)", score,
                         absl::StrJoin(parts, "/"), bp, ratio, hyp_len, ref_len);
}

std::string BleuScore::signature(const BleuOptions& options) const {
  using Smooth = BleuOptions::Smooth;
  std::string smooth;
  switch (options.smooth) {
    case Smooth::kNone: smooth = "none"; break;
    case Smooth::kExp: smooth = "exp"; break;
    case Smooth::kFloor:
      smooth = absl::StrFormat("floor[%.2f]", options.smooth_value < 0 ? 0.1 : options.smooth_value);
      break;
    case Smooth::kAddK:
      smooth = absl::StrFormat("add-k[%.2f]", options.smooth_value < 0 ? 1.0 : options.smooth_value);
      break;
  }
  return absl::StrCat("nrefs:", nrefs < 0 ? "var" : absl::StrCat(nrefs), "|case:mixed|eff:",
                      options.effective_order ? "yes" : "no", "|tok:", options.tokenize ? "13a" : "none",
                      "|smooth:", smooth);
}

}  // namespace ty
