// Where a pipeline cuts the model (parallel.pipeline.partition) and what each stage then
// holds: its layers, parameters and the shapes it hands on. Planned on every rank alike
// from the whole model, before the rank keeps its own stage.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "worker/job/spec.h"

namespace ty {

struct StagePlan {
  std::vector<size_t> cuts;                 // P − 1 layer indices: stage s holds [cuts[s−1], cuts[s])
  std::vector<int64_t> params;              // per stage
  std::vector<std::vector<Shape>> outputs;  // per stage: per sample, the tensors it hands on
  Shape input;                              // per sample, the model's input
  size_t layers = 0;

  int stages() const { return static_cast<int>(cuts.size()) + 1; }
  size_t first_layer(int s) const { return s == 0 ? 0 : cuts[static_cast<size_t>(s) - 1]; }
  size_t end_layer(int s) const { return s + 1 == stages() ? layers : cuts[static_cast<size_t>(s)]; }
  std::vector<Shape> inputs_of(int s) const {
    return s == 0 ? std::vector<Shape>{input} : outputs[static_cast<size_t>(s) - 1];
  }
  // "stage 0: layers 0–2, 1,234 parameters; stage 1: ..."
  std::string describe() const;
};

// Per layer of `whole` (cut into single layers here, so `whole` is consumed): parameter
// counts, and the shapes each hands on.
struct LayerFacts {
  std::vector<double> params;
  std::vector<std::vector<Shape>> outputs;
  std::vector<std::unique_ptr<Model>> layers;  // the single-layer models
};
absl::StatusOr<LayerFacts> layer_facts(std::unique_ptr<Model> whole);

// Forward + backward seconds of each single-layer model on `rows` samples of random input
// (`input`: the first layer's sample shape; the best of a few runs each).
std::vector<double> layer_times(Context& ctx, LayerFacts& facts, const Shape& input, int64_t rows);

// The plan for `spec.parallel.pipeline` over layers described by `facts`; `times` (per
// layer) when the partition is `time`. Errors name parallel.pipeline.partition.
absl::StatusOr<StagePlan> plan_stages(const PipelineSpec& spec, const LayerFacts& facts, const Shape& input,
                                      const std::vector<double>& times);

}  // namespace ty
