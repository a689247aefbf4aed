// Task: what a model learns from a batch — the loss to minimize — and what an evaluation
// measures. Supervised learning (supervised_task.h) is the one there is; language models
// and GANs come next.
#pragma once

#include "models/metrics.h"
#include "models/model.h"
#include "runtime/autograd.h"
#include "storage/batch.h"

namespace ty {

class Task {
 public:
  virtual ~Task() = default;
  // The mean loss of a batch (its fields on the training device), recorded on the
  // context's active tape.
  virtual Var loss(Context& ctx, Model& model, const Batch& batch) = 0;
  // Adds the batch's figures to `m` (no tape is active).
  virtual void measure(Context& ctx, Model& model, const Batch& batch, MetricsAccumulator& m) = 0;
  // An empty accumulator of this task's metrics.
  virtual MetricsAccumulator new_metrics() const = 0;
};

}  // namespace ty
