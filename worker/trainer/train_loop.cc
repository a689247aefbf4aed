#include "worker/trainer/train_loop.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/optim/clip.h"
#include "runtime/status.h"
#include "storage/s3/s3_client.h"
#include "worker/trainer/evaluator.h"
#include "worker/trainer/fault_injection.h"
#include "worker/trainer/interrupts.h"

namespace ty {
namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
}  // namespace

absl::StatusOr<double> global_mean(Strategy& strategy, double value) {
  if (strategy.world() == 1) return value;
  std::vector<double> v{value};
  TY_RETURN_IF_ERROR(strategy.sum(v));
  return v[0] * (1.0 / strategy.data_world());
}

TrainLoop::TrainLoop(TrainLoopParts parts, TrainLoopPlan plan, const LrSchedule& schedule, CheckpointPolicy& policy,
                     SaveFn save, WritesFn writes)
    : p_(parts),
      plan_(plan),
      schedule_(schedule),
      policy_(policy),
      save_(std::move(save)),
      writes_(std::move(writes)),
      progress_(parts.out, plan.epochs, plan.steps_per_epoch, plan.total_steps, plan.log_every) {}

absl::StatusOr<Tensor> TrainLoop::train_step(float lr, int64_t& rows, int64_t& step) {
  const int64_t k = plan_.accumulate_steps;
  // The step's batches first: each weighs by its rows (a short last batch of an epoch less),
  // so that the step's loss and gradient are the means over all its samples.
  std::vector<Batch> batches(static_cast<size_t>(k));
  rows = 0;
  {
    const auto t0 = Clock::now();
    for (Batch& b : batches) {
      TY_RETURN_IF_ERROR(p_.source.next(b));
      rows += b.rows();
    }
    data_wait_s_ += since(t0);
  }
  p_.ctx.dropout_key().step = static_cast<uint64_t>(step);  // (the strategy sets each batch's sample)
  if (p_.task.steps_itself()) {  // several updates, each with its optimizer (a GAN's)
    TY_ASSIGN_OR_RETURN(Tensor loss_value, p_.task.train_step(p_.ctx, p_.model, p_.strategy, batches, lr, step));
    ++step;
    return loss_value;
  }
  TY_ASSIGN_OR_RETURN(Tensor loss_value, p_.strategy.forward_backward(p_.ctx, p_.model, p_.task, batches,
                                                                      p_.scaler ? p_.scaler->scale() : 1.0));
  TY_RETURN_IF_ERROR(p_.strategy.end_backward());
  // fp16: a step whose gradients overflowed is skipped (every rank alike: the gradients
  // are the same averaged ones) and the loss scale halved.
  if (p_.scaler) {
    if (p_.scaler->unscale_or_skip(p_.ctx, p_.model.params(), plan_.clip_grad_norm)) p_.optimizer.step(lr);
  } else {
    if (plan_.clip_grad_norm > 0) TY_RETURN_IF_ERROR(clip_gradients());
    p_.optimizer.step(lr);
  }
  p_.optimizer.zero_grad();
  ++step;
  return loss_value;
}

absl::Status TrainLoop::clip_gradients() {
  const std::vector<Var> params = p_.model.params();
  if (!p_.strategy.holds_part_of_model()) {
    clip_grad_norm(p_.ctx, params, plan_.clip_grad_norm);
    return absl::OkStatus();
  }
  // The norm of the whole model's gradient: every stage's part of the sum of squares.
  Tensor part = grad_sum_squares(p_.ctx, params);
  std::vector<double> sum{part.item()};
  TY_RETURN_IF_ERROR(p_.strategy.sum_over_model(sum));
  Tensor host = Tensor::empty(host_memory(), {1}, DType::kF64);
  host.set(0, sum[0]);
  clip_to_norm(p_.ctx, params, p_.ctx.to_device(host), plan_.clip_grad_norm);
  return absl::OkStatus();
}

absl::StatusOr<StepAction> TrainLoop::after_step(const Tensor& loss, std::optional<double> loss_read, float lr,
                                                 int64_t rows, Position next, int64_t step) {
  // Read the loss only where it is shown, once (a GPU runs ahead of the host otherwise).
  // A rank that computes no loss (a pipeline stage but the last) adds 0 to the mean, and
  // its progress line shows the last global loss.
  auto loss_value = [&] {
    if (!loss_read) loss_read = loss.defined() ? loss.item() : 0.0;
    return *loss_read;
  };
  // Every rank takes this branch on the same steps (collectives must match).
  if (logged(step)) {
    TY_ASSIGN_OR_RETURN(const double global_loss, global_mean(p_.strategy, loss_value()));
    if (!std::isfinite(global_loss))
      return absl::InternalError(absl::StrCat("loss became ", global_loss, " at step ", step, " (epoch ",
                                              next.epoch + 1, "); lower optimizer.lr or set train.clip_grad_norm"));
    ExtraFigures extra = p_.task.step_figures();
    for (auto& figure : extra) {
      TY_ASSIGN_OR_RETURN(figure.second, global_mean(p_.strategy, figure.second));
    }
    if (p_.log) p_.log->train(step, next.epoch, global_loss, lr, extra);
    last_global_loss_ = global_loss;
  }
  if (loss.defined())
    progress_.step(next.step_in_epoch, step, rows * p_.strategy.data_world(), loss_value);
  else
    progress_.step(next.step_in_epoch, step, rows * p_.strategy.data_world(), [&] { return last_global_loss_; });
  const absl::Status writes = writes_();
  TY_ASSIGN_OR_RETURN(const StepAction action, agree(p_.strategy, policy_.after_step(step, !writes.ok())));
  if (action == StepAction::kFail)
    return writes.ok() ? absl::AbortedError(absl::StrCat("a checkpoint or metrics write failed on another rank "
                                                         "before step ",
                                                         step))
                       : writes;
  return action;
}

absl::Status TrainLoop::end_epoch(int64_t epoch, double train_seconds, int64_t samples) {
  {  // the epoch's last steps may still run on a GPU: count them in
    const auto t0 = Clock::now();
    p_.ctx.synchronize();
    train_seconds += since(t0);
  }
  progress_.end_epoch();
  if (p_.scaler && p_.out)
    std::fprintf(p_.out, "  fp16 loss scale %g, %ld step(s) skipped for overflow so far\n", p_.scaler->scale(),
                 static_cast<long>(p_.scaler->skipped()));
  std::vector<double> io{static_cast<double>(p_.source.skipped_records()),
                         static_cast<double>(p_.source.refetched_ranges()),
                         static_cast<double>(shared_s3_stats().retries)};
  TY_RETURN_IF_ERROR(p_.strategy.sum(io));
  // (A pipeline's stages of one replica read the same records: each counts them once.)
  io[0] *= static_cast<double>(p_.strategy.data_world()) / p_.strategy.world();
  TY_ASSIGN_OR_RETURN(const std::optional<PipelineFigures> pipeline, p_.strategy.take_pipeline_figures());
  if (p_.log)
    p_.log->epoch(epoch, train_seconds, train_seconds > 0 ? samples / train_seconds : 0, data_wait_s_,
                  MetricsLog::IoFigures{std::llround(io[0]), std::llround(io[1]), std::llround(io[2])}, pipeline);
  if (pipeline && p_.out) {
    std::string held;
    for (double b : pipeline->activation_bytes)
      absl::StrAppend(&held, held.empty() ? "" : " / ", absl::StrFormat("%.3g", b / (1 << 20)));
    std::fprintf(p_.out, "  pipeline bubble: %.1f%% of the step time; activations held per stage: %s MiB\n",
                 100 * pipeline->bubble_fraction, held.c_str());
  }
  if (plan_.val) {
    TY_ASSIGN_OR_RETURN(MetricsAccumulator m,
                        evaluate(p_.ctx, p_.model, p_.task, p_.strategy, *plan_.val, plan_.eval_batch));
    ExtraFigures extra;
    std::string extra_line;
    if (plan_.val_extra) {
      TY_ASSIGN_OR_RETURN(extra, plan_.val_extra(*plan_.val, extra_line));
    }
    if (p_.log) p_.log->eval("val", epoch, m, false, extra);
    if (p_.out)
      std::fprintf(p_.out, "  epoch %ld: %.2f s train, val loss %.4f%s%s\n", static_cast<long>(epoch + 1),
                   train_seconds, m.loss(),
                   m.tokens()           ? absl::StrFormat(", val perplexity %.4g", m.perplexity()).c_str()
                   : m.classification() ? absl::StrCat(", val accuracy ", m.accuracy()).c_str()
                                        : "",
                   extra_line.c_str());
  } else if (p_.out) {
    std::fprintf(p_.out, "  epoch %ld: %.2f s train\n", static_cast<long>(epoch + 1), train_seconds);
  }
  return absl::OkStatus();
}

absl::StatusOr<Position> TrainLoop::run(Position start, int64_t& step) {
  p_.model.set_training(true);
  Position at = start;
  for (int64_t epoch = start.epoch; epoch < plan_.epochs && step < plan_.total_steps; ++epoch) {
    progress_.start_epoch(epoch);
    double train_seconds = 0;
    int64_t samples = 0;
    data_wait_s_ = 0;
    const int64_t first = epoch == start.epoch ? start.step_in_epoch : 0;
    // Batches that do not fill a step at an epoch's end are left out: the next epoch starts
    // at its first batch.
    if (epoch != start.epoch && plan_.batches_per_epoch != plan_.steps_per_epoch * plan_.accumulate_steps)
      TY_RETURN_IF_ERROR(p_.source.seek(epoch, 0));
    for (int64_t s = first; s < plan_.steps_per_epoch && step < plan_.total_steps; ++s) {
      const auto t0 = Clock::now();
      maybe_inject_fault(p_.strategy.rank(), step);
      const float lr = schedule_.lr(step);
      int64_t rows = 0;
      TY_ASSIGN_OR_RETURN(const Tensor loss, train_step(lr, rows, step));
      std::optional<double> loss_read;
      if (logged(step) && loss.defined()) loss_read = loss.item();  // waits for the step on a GPU: timed with it
      train_seconds += since(t0);
      samples += rows * p_.strategy.data_world();
      at = s + 1 >= plan_.steps_per_epoch ? Position{epoch + 1, 0} : Position{epoch, s + 1};
      TY_ASSIGN_OR_RETURN(const StepAction action, after_step(loss, loss_read, lr, rows, Position{epoch, s + 1}, step));
      if (plan_.after_step) TY_RETURN_IF_ERROR(plan_.after_step(step));
      if (action >= StepAction::kSave) TY_RETURN_IF_ERROR(save_(at));
      if (action == StepAction::kSaveAndStop)
        return absl::CancelledError(absl::StrCat(stop_signal() == SIGINT    ? "stopped by SIGINT"
                                                 : stop_signal() == SIGTERM ? "stopped by SIGTERM"
                                                                            : "stopped at another rank's request",
                                                 " after step ", step,
                                                 "; checkpoint saved, run the same command to resume"));
    }
    TY_RETURN_IF_ERROR(end_epoch(epoch, train_seconds, samples));
  }
  return at;
}

}  // namespace ty
