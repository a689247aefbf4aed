// Evaluation: a model's metrics on a dataset, with no gradients, dropout off and batch norm
// on its running statistics. Each data share (a rank, or a pipeline replica's stages) takes
// every data_world-th sample; the figures are summed over ranks, so every rank returns the
// global metrics.
#pragma once

#include "absl/status/statusor.h"
#include "models/metrics.h"
#include "storage/dataset.h"
#include "worker/trainer/strategy.h"
#include "worker/trainer/task.h"

namespace ty {

absl::StatusOr<MetricsAccumulator> evaluate(Context& ctx, Model& model, Task& task, Strategy& strategy,
                                            const Dataset& data, int64_t batch);

}  // namespace ty
