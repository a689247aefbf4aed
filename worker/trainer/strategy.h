// Strategy: how the ranks of a job share the work of each step. The train loop and the
// evaluator see only this interface: data parallelism (data_parallel.h), every rank a whole
// model, and pipeline parallelism (pipeline_parallel.h), the model cut into stages over a
// grid of data replicas × stages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/metrics.h"
#include "models/model.h"
#include "storage/batch.h"
#include "worker/trainer/metrics_log.h"
#include "worker/trainer/task.h"

namespace ty {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  bool leader() const { return rank() == 0; }
  // Which share of each global batch this rank reads, of how many (a pipeline's stages of
  // one replica read the same share).
  virtual int data_rank() const { return rank(); }
  virtual int data_world() const { return world(); }

  // Before the first step: every rank's model state made equal (rank 0's).
  virtual absl::Status start(Model& model) = 0;
  // Forward and backward of one optimizer step's batches (`batches`, on the host; each
  // weighs by its rows in the step's sum, so the gradient is the mean over all their
  // samples; `scale`: the fp16 loss scale), gradients shared as they become final. Returns
  // the step's mean loss over this rank's samples, a scalar on the training device — or an
  // undefined tensor on a rank that computes no loss (a pipeline stage but the last).
  // Sharing completes in end_backward().
  virtual absl::StatusOr<Tensor> forward_backward(Context& ctx, Model& model, Task& task, std::vector<Batch>& batches,
                                                  double scale) = 0;
  virtual absl::Status end_backward() = 0;
  // A step of several updates (a GAN's): runs `tape`'s backward from `loss`, the gradients of
  // parameter group `group` (Model::param_groups) shared as they become final and complete
  // on return. Every rank calls it alike. Strategies without it refuse.
  virtual absl::Status backward_group(Tape& tape, const Var& loss, size_t group) = 0;
  // One evaluation batch (on the host): its figures added to `m` on the rank that computes
  // them (a pipeline's last stage; every rank without one).
  virtual absl::Status measure(Context& ctx, Model& model, Task& task, Batch& batch, MetricsAccumulator& m) = 0;

  // Sum / maximum of host values over the ranks (metrics, decisions every rank must share).
  virtual absl::Status sum(std::vector<double>& values) = 0;
  virtual absl::Status max(std::vector<double>& values) = 0;
  // Whether this rank holds only part of the model (a pipeline stage), and the sum of host
  // values over the ranks holding the other parts of the same replica (gradient norms).
  virtual bool holds_part_of_model() const { return false; }
  virtual absl::Status sum_over_model(std::vector<double>&) { return absl::OkStatus(); }
  // Collective, at an epoch's end: what the pipeline measured over the epoch (and starts
  // again), or none without a pipeline.
  virtual absl::StatusOr<std::optional<PipelineFigures>> take_pipeline_figures() {
    return std::optional<PipelineFigures>();
  }

  // For the banner: ", mpi, 3 gradient buckets" ("" for one process).
  virtual std::string describe() const = 0;
  // At the end: how the communication went ("" when there was none).
  virtual std::string report() const = 0;
};

}  // namespace ty
