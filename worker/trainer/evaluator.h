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

// Gathers samples `indices[0..count)` of `data` into a batch on the training device: x
// (count, sample shape...) f32; y i32 labels (count) when `labels`, else (count, targets) f32.
void gather_batch(Context& ctx, const Dataset& data, const int64_t* indices, int64_t count, bool labels, Tensor& x,
                  Tensor& y);

}  // namespace ty
