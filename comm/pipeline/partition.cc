#include "comm/pipeline/partition.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty::pipeline {

absl::StatusOr<std::vector<int64_t>> balanced_cuts(const std::vector<double>& weights, int stages) {
  const size_t l = weights.size(), p = static_cast<size_t>(stages);
  if (stages < 1 || l < p)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot cut ", l, " layers into ", stages, " pipeline stages: each stage needs a layer"));
  for (size_t i = 0; i < l; ++i)
    if (!std::isfinite(weights[i]) || weights[i] < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", i, " weighs ", weights[i], ": a layer's weight is a finite number >= 0"));
  std::vector<double> prefix(l + 1, 0);
  for (size_t i = 0; i < l; ++i) prefix[i + 1] = prefix[i] + weights[i];
  const double inf = std::numeric_limits<double>::infinity();
  // best[k][i]: the smallest largest stage of the first i layers in k stages; from[k][i]
  // where its last stage starts.
  std::vector<std::vector<double>> best(p + 1, std::vector<double>(l + 1, inf));
  std::vector<std::vector<size_t>> from(p + 1, std::vector<size_t>(l + 1, 0));
  best[0][0] = 0;
  for (size_t k = 1; k <= p; ++k)
    for (size_t i = k; i <= l; ++i)
      for (size_t j = k - 1; j < i; ++j) {
        const double v = std::max(best[k - 1][j], prefix[i] - prefix[j]);
        if (v <= best[k][i]) {  // ties: the later start (weightless layers stay behind)
          best[k][i] = v;
          from[k][i] = j;
        }
      }
  std::vector<int64_t> cuts(p - 1);
  for (size_t k = p, i = l; k > 1; --k) {
    i = from[k][i];
    cuts[k - 2] = static_cast<int64_t>(i);
  }
  return cuts;
}

absl::Status check_cuts(const std::vector<int64_t>& cuts, int stages, int64_t layers, const char* key) {
  if (static_cast<int>(cuts.size()) != stages - 1)
    return absl::InvalidArgumentError(absl::StrCat(key, ": [", absl::StrJoin(cuts, ", "), "] holds ", cuts.size(),
                                                   " cut points; ", stages, " stages need ", stages - 1));
  for (size_t i = 0; i < cuts.size(); ++i) {
    const int64_t lo = i == 0 ? 0 : cuts[i - 1];
    if (cuts[i] <= lo || (layers > 0 && cuts[i] >= layers))
      return absl::InvalidArgumentError(absl::StrCat(
          key, ": [", absl::StrJoin(cuts, ", "), "] leaves stage ", cuts[i] <= lo ? i : i + 1,
          " empty (cut points ascend, each between 1 and the number of layers",
          layers > 0 ? absl::StrCat(", ", layers, ", exclusive") : "", ")"));
  }
  return absl::OkStatus();
}

}  // namespace ty::pipeline
