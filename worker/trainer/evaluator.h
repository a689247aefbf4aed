// Evaluation: a model's metrics on a dataset, with no gradients, dropout off and batch norm
// on its running statistics. Each rank takes every world-th sample; the figures are summed
// over ranks, so every rank returns the global metrics.
#pragma once

#include "absl/status/statusor.h"
#include "models/metrics.h"
#include "storage/dataset.h"
#include "worker/trainer/strategy.h"
#include "worker/trainer/task.h"

namespace ty {

absl::StatusOr<MetricsAccumulator> evaluate(Context& ctx, Model& model, Task& task, Strategy& strategy,
                                            const Dataset& data, int64_t batch);

// Copies every field of `batch` to the training device (no copy on the CPU).
void to_device(Context& ctx, Batch& batch);

}  // namespace ty
