// Task: what a model learns from a batch — the loss to minimize — and what an evaluation
// measures. Supervised learning (supervised_task.h) is the one there is; language models
// and GANs come next. A pipeline runs the model in stages: it feeds inputs() to the first
// and hands the last one's outputs to loss_of() and measure_outputs().
#pragma once

#include "models/metrics.h"
#include "models/model.h"
#include "runtime/autograd.h"
#include "storage/batch.h"

namespace ty {

class Task {
 public:
  virtual ~Task() = default;
  // What the model's first layer takes from a batch (its fields on the training device).
  virtual Vars inputs(const Batch& batch) = 0;
  // The mean loss of a batch given the model's outputs for it, recorded on the context's
  // active tape.
  virtual Var loss_of(Context& ctx, const Vars& outputs, const Batch& batch) = 0;
  // Adds the batch's figures, given the model's outputs for it, to `m` (no tape is active).
  virtual void measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) = 0;
  // An empty accumulator of this task's metrics.
  virtual MetricsAccumulator new_metrics() const = 0;

  // The whole model in one process: forward, then the above.
  Var loss(Context& ctx, Model& model, const Batch& batch) {
    return loss_of(ctx, model.apply(ctx, inputs(batch)), batch);
  }
  void measure(Context& ctx, Model& model, const Batch& batch, MetricsAccumulator& m) {
    measure_outputs(ctx, model.apply(ctx, inputs(batch)), batch, m);
  }
};

}  // namespace ty
