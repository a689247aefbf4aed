// Where to cut a model's layer list into pipeline stages: contiguous, non-empty stages
// whose largest total weight (parameters, layer count or measured time per layer) is as
// small as it can be. Among equally balanced cuts the later ones win, so that a layer
// without weight (an activation, dropout) stays with the layer before it.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace ty::pipeline {

// The P − 1 cut points (layer indices, ascending, each in (0, L)) for `stages` P stages of
// the L layers weighing `weights`: stage s holds layers [cut[s−1], cut[s]). Needs L ≥ P.
absl::StatusOr<std::vector<int64_t>> balanced_cuts(const std::vector<double>& weights, int stages);

// Checks explicit cut points for `layers` layers (P − 1 of them, ascending, in (0, L)); the
// error names `key` and what is wrong.
absl::Status check_cuts(const std::vector<int64_t>& cuts, int stages, int64_t layers, const char* key);

}  // namespace ty::pipeline
