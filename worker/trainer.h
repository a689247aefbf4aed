// Trainer: what one rank runs. From a checked JobSpec it loads the data, builds the model
// and optimizer, runs the training loop with progress and metrics.jsonl, evaluates on the
// validation split each epoch and on the test set at the end, and saves the final weights.
//
// With a communicator of more than one rank it trains data-parallel: parameters and
// buffers are broadcast from rank 0, each rank takes its share of every global batch
// (DistributedSampler order; streamed shards through ShardStream), gradients are averaged in buckets overlapped with backward
// (GradientBucketer), and metrics are summed over ranks, so rank 0 — the only rank that
// writes files or prints progress — reports global figures.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "comm/gradient_bucketer.h"
#include "models/metrics.h"
#include "models/model.h"
#include "runtime/optim/optimizer.h"
#include "storage/batch_source.h"
#include "storage/checkpoint.h"
#include "worker/checkpoint_saver.h"
#include "worker/datasets.h"
#include "runtime/optim/loss_scaler.h"
#include "worker/job/spec.h"

namespace ty {

class Trainer {
 public:
  // Loads data and builds everything; any problem with the spec or the data is reported
  // here, before training starts. An empty `run_dir` makes an evaluation-only trainer,
  // which loads just the test set.
  // `comm` (optional) is the job's communicator; null or one rank: no data parallelism.
  static absl::StatusOr<std::unique_ptr<Trainer>> create(const JobSpec& spec, const std::string& run_dir,
                                                         Communicator* comm = nullptr);
  ~Trainer();

  // Trains, evaluates and writes RUN_DIR/{metrics.jsonl, weights.bin, job.yaml}.
  absl::Status run();
  // Metrics of the current model on `data` (no gradients, dropout off, batch norm on
  // running statistics), summed over all ranks, each evaluating every world-th sample.
  absl::StatusOr<MetricsAccumulator> evaluate(const Dataset& data);

  // Everything the weights file holds: the model's parameters and buffers, and the input
  // standardization ("input.mean", "input.std") when data.normalize is standardize.
  std::vector<std::pair<std::string, Tensor>> saved_state();
  // Loads a weights file written by saved_state() (eval).
  absl::Status load_state(const std::string& path);

  Model& model() { return *model_; }
  const JobData& data() const { return data_; }
  Context& context() { return *ctx_; }
  int64_t steps_done() const { return step_; }
  std::string weights_path() const { return run_dir_ + "/weights.bin"; }

 private:
  Trainer(const JobSpec& spec, std::string run_dir, Communicator* comm);
  bool leader() const { return rank() == 0; }
  int rank() const { return comm_ ? comm_->rank() : 0; }
  int world() const { return comm_ ? comm_->size() : 1; }
  // "N threads" on the CPU, "cuda:I (NAME)" on a GPU.
  std::string device_description() const;
  // The mean of `value` over ranks (itself with one rank).
  absl::StatusOr<double> global_mean(double value);
  // Everything a checkpoint holds for this rank: model state, optimizer state ("optim."),
  // input standardization, and "meta." position (step, next epoch and step in epoch,
  // dropout RNG offset, model signature).
  // Fills `into`, reusing its buffers where names and sizes match (no allocation, no page
  // faults after the first save).
  void checkpoint_state(int64_t next_epoch, int64_t next_step_in_epoch, NamedTensors& into);
  // Resumes from the newest complete checkpoint in the run directory, if any; returns
  // the (epoch, step in epoch) to continue from.
  absl::StatusOr<std::pair<int64_t, int64_t>> resume(FILE* out);
  std::string model_signature();
  // The settings that define the run's trajectory besides the model ("key=value;..."): a
  // checkpoint written under other values is refused, naming them.
  std::string trajectory() const;
  // Before the first save of this launch: rank 0 clears leftover step-N.partial
  // directories, the ranks agree on the resumed step and on a launch nonce (returned).
  absl::StatusOr<uint64_t> start_checkpointing();
  // One optimizer step on the source's next batch (this rank's share of a global batch,
  // `rows` samples); returns its mean loss, a scalar on the training device (reading it
  // on a GPU waits for the step, so the loop reads it only when it shows it).
  absl::StatusOr<Tensor> train_step(float lr, Tape& tape, int64_t& rows);
  // The training batches: streamed shards (ShardStream) or a dataset in memory.
  absl::StatusOr<std::unique_ptr<BatchSource>> make_batch_source();
  double data_wait_s_ = 0;  // time waiting for the batch source during training, this epoch
  // Forward of one batch and its mean loss.
  Var loss_of(const Var& outputs, const Tensor& targets);
  void load_batch(const Dataset& data, const int64_t* indices, int64_t count, Tensor& x, Tensor& y);

  JobSpec spec_;
  std::string run_dir_;
  std::unique_ptr<Context> ctx_;
  JobData data_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<LossScaler> scaler_;  // runtime.precision: fp16 only
  Communicator* comm_;
  std::unique_ptr<Communicator> gpu_comm_;       // NCCL, for gradients on GPUs (data parallel)
  std::unique_ptr<GradientBucketer> bucketer_;  // data parallel only
  std::unique_ptr<CheckpointSaver> saver_;
  std::unique_ptr<BatchSource> source_;
  NamedTensors snapshot_;  // the last checkpoint's copies, reused by the next
  int64_t steps_per_epoch_ = 0;
  int64_t step_ = 0;
};

}  // namespace ty
