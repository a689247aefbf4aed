// Task: what a model learns from a batch — the loss to minimize — and what an evaluation
// measures: supervised learning (supervised_task.h), language models, translation, GANs
// (gan_task.h, whose step is two updates). A pipeline runs the model in stages: it feeds inputs() to the first
// and hands the last one's outputs to loss_of() and measure_outputs().
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "models/metrics.h"
#include "models/model.h"
#include "runtime/autograd.h"
#include "storage/batch.h"
#include "worker/trainer/metrics_log.h"

namespace ty {

class Strategy;

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

  // A task whose step is several updates, each with its own optimizer (a GAN's: the
  // discriminator's, then the generator's), runs its steps itself: train_step() instead of
  // the TrainLoop's one forward, backward and update.
  virtual bool steps_itself() const { return false; }
  // One step on `batches` (host), `lr` the schedule's rate now (for the task's first
  // optimizer; the others' scaled alike), `step` keying its random draws; returns the loss to
  // log, a scalar on the training device.
  virtual absl::StatusOr<Tensor> train_step(Context&, Model&, Strategy&, std::vector<Batch>&, float /*lr*/,
                                            int64_t /*step*/) {
    return absl::UnimplementedError("this task's steps are the TrainLoop's");
  }
  // Figures of the last step logged with its loss (a GAN: the discriminator's loss), read
  // only on logged steps (reading waits for a GPU).
  virtual ExtraFigures step_figures() { return {}; }

  // The whole model in one process: forward, then the above.
  Var loss(Context& ctx, Model& model, const Batch& batch) {
    return loss_of(ctx, model.apply(ctx, inputs(batch)), batch);
  }
  void measure(Context& ctx, Model& model, const Batch& batch, MetricsAccumulator& m) {
    measure_outputs(ctx, model.apply(ctx, inputs(batch)), batch, m);
  }
};

}  // namespace ty
