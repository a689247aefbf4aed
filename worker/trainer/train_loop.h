// TrainLoop: the epochs and steps of training, from a resumed position to the last step or
// a stop. Each step: the next batch, forward and loss (Task), backward with gradients
// shared as they become final (Strategy), fp16 unscaling or clipping, the optimizer step.
// After each step: the loss logged where due, the progress line, and what the ranks agree
// to do (CheckpointPolicy: go on, save, save and stop, fail). After each epoch: timing and
// the validation split.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "runtime/optim/loss_scaler.h"
#include "runtime/optim/optimizer.h"
#include "runtime/optim/schedule.h"
#include "storage/batch_source.h"
#include "worker/trainer/checkpoint_policy.h"
#include "worker/trainer/metrics_log.h"
#include "worker/trainer/progress.h"
#include "worker/trainer/strategy.h"
#include "worker/trainer/task.h"

namespace ty {

// Where the data order stands: the next step to take.
struct Position {
  int64_t epoch = 0;
  int64_t step_in_epoch = 0;
};

struct TrainLoopParts {
  Context& ctx;
  Model& model;
  Optimizer& optimizer;
  Task& task;
  Strategy& strategy;
  BatchSource& source;
  LossScaler* scaler;  // (optional) fp16
  MetricsLog* log;     // (optional) rank 0
  FILE* out;           // (optional) rank 0: progress and epoch lines
};

struct TrainLoopPlan {
  int64_t epochs = 1;
  int64_t steps_per_epoch = 0;   // optimizer steps
  int64_t accumulate_steps = 1;  // batches per optimizer step
  int64_t batches_per_epoch = 0;
  int64_t total_steps = 0;
  int64_t log_every = 50;
  float clip_grad_norm = 0;
  const Dataset* val = nullptr;  // (optional) evaluated after each epoch
  int64_t eval_batch = 256;
  // (optional) figures of the validation split measured besides the forward pass (a
  // translation's greedy BLEU), logged with its eval record; `line` says them for the epoch
  // line.
  std::function<absl::StatusOr<ExtraFigures>(const Dataset& data, std::string& line)> val_extra;
  // (optional) after each step, on every rank, given the step count (a GAN's sample grids).
  std::function<absl::Status(int64_t step)> after_step;
};

class TrainLoop {
 public:
  // Snapshots the state after the current step, to resume at `next`; writes go on behind.
  using SaveFn = std::function<absl::Status(Position next)>;
  // The first failed write of this rank (checkpoints, metrics), or OK.
  using WritesFn = std::function<absl::Status()>;

  TrainLoop(TrainLoopParts parts, TrainLoopPlan plan, const LrSchedule& schedule, CheckpointPolicy& policy, SaveFn save,
            WritesFn writes);
  // Trains from `start`; `step` counts optimizer steps. Returns the position after the last
  // step; a stop asked by a signal is a CancelledError after its checkpoint was handed over.
  absl::StatusOr<Position> run(Position start, int64_t& step);

 private:
  // One optimizer step on the next batch (accumulate_steps batches, their gradients added up
  // and shared once); returns its mean loss, a scalar on the training device (reading it on
  // a GPU waits for the step, so it is read only when shown).
  absl::StatusOr<Tensor> train_step(float lr, int64_t& rows, int64_t& step);
  // train.clip_grad_norm: the gradients scaled to that norm of the whole model's (over a
  // pipeline's stages too).
  absl::Status clip_gradients();
  // After the step that ends at `next`: log, progress, and the agreed action. `loss_read`:
  // the loss when it was read already.
  absl::StatusOr<StepAction> after_step(const Tensor& loss, std::optional<double> loss_read, float lr, int64_t rows,
                                        Position next, int64_t step);
  // Whether optimizer step `step` is logged (every rank alike).
  bool logged(int64_t step) const { return step % plan_.log_every == 0 || step == plan_.total_steps; }
  absl::Status end_epoch(int64_t epoch, double train_seconds, int64_t samples);

  TrainLoopParts p_;
  TrainLoopPlan plan_;
  const LrSchedule& schedule_;
  CheckpointPolicy& policy_;
  SaveFn save_;
  WritesFn writes_;
  ProgressLine progress_;
  double data_wait_s_ = 0;  // this epoch
  double last_global_loss_ = 0;
};

// The mean of `value` over the data shares (the ranks that compute a loss: every rank, or
// a pipeline's last stages; the others give 0).
absl::StatusOr<double> global_mean(Strategy& strategy, double value);

}  // namespace ty
