// The references of a corpus metric (BLEU, chrF) per segment, as sacreBLEU takes them:
// references[r][i] is the r-th reference of hypothesis i; an empty line is an absent
// reference (a variable number per segment), a segment with none is an error naming it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ty {

// Per hypothesis, its non-empty references; `metric` names the metric in errors.
inline absl::StatusOr<std::vector<std::vector<std::string>>> references_per_segment(
    size_t hypotheses, const std::vector<std::vector<std::string>>& references, const char* metric) {
  if (references.empty()) return absl::InvalidArgumentError(absl::StrCat(metric, " needs at least one reference stream"));
  for (size_t r = 0; r < references.size(); ++r)
    if (references[r].size() != hypotheses)
      return absl::InvalidArgumentError(absl::StrCat(metric, ": ", hypotheses, " hypotheses but reference stream ",
                                                     r + 1, " has ", references[r].size(), " lines"));
  std::vector<std::vector<std::string>> out(hypotheses);
  for (size_t i = 0; i < hypotheses; ++i) {
    for (const auto& stream : references)
      if (!stream[i].empty()) out[i].push_back(stream[i]);
    if (out[i].empty())
      return absl::InvalidArgumentError(
          absl::StrCat(metric, ": segment ", i + 1, " has no reference (every reference line is empty)"));
  }
  return out;
}

}  // namespace ty
