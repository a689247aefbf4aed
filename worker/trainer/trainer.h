// Trainer: what one rank runs. From a checked JobSpec it opens the device, loads the data,
// builds the model, optimizer, Task (what is learned) and Strategy (how ranks share the
// work), then runs: the run directory's files, resume from the newest checkpoint, the
// TrainLoop, the last checkpoint, the final weights and the test set's metrics.
//
// With a communicator of more than one rank it trains data-parallel (DataParallel), or —
// parallel.pipeline.stages > 1 — on a grid of data replicas × pipeline stages
// (PipelineParallel), each rank keeping its stage of the model. Rank 0 — the only rank that
// writes metrics or prints progress — reports global figures.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "models/metrics.h"
#include "models/model.h"
#include "runtime/optim/loss_scaler.h"
#include "runtime/optim/optimizer.h"
#include "storage/batch_source.h"
#include "storage/checkpoint.h"
#include "storage/object_path.h"
#include "worker/job/spec.h"
#include "worker/trainer/checkpoint_saver.h"
#include "worker/trainer/datasets.h"
#include "worker/trainer/memory_estimate.h"
#include "worker/trainer/metrics_log.h"
#include "worker/trainer/pipeline_plan.h"
#include "worker/trainer/strategy.h"
#include "worker/trainer/task.h"
#include "worker/trainer/text_generation.h"
#include "worker/trainer/train_loop.h"
#include "worker/trainer/translation.h"

namespace ty {

class Trainer {
 public:
  // Loads data and builds everything; any problem with the spec or the data is reported
  // here, before training starts. An empty `run_dir` makes an evaluation-only trainer,
  // which loads just the test set. `comm` (optional): the job's communicator.
  static absl::StatusOr<std::unique_ptr<Trainer>> create(const JobSpec& spec, const std::string& run_dir,
                                                         Communicator* comm = nullptr);
  ~Trainer();

  // Trains, evaluates and writes RUN_DIR/{metrics.jsonl, weights.bin, job.yaml}.
  absl::Status run();
  // Metrics of the current model on `data`, over all ranks (evaluator.h).
  absl::StatusOr<MetricsAccumulator> evaluate(const Dataset& data);

  // Everything the weights file holds: the model's parameters and buffers, and the input
  // standardization ("input.mean", "input.std") when data.normalize is standardize.
  std::vector<std::pair<std::string, Tensor>> saved_state();
  // Loads a weights file written by saved_state() (eval).
  absl::Status load_state(const std::string& path);
  // A language model's text after `options.prompt` (text_generation.h), in this process's
  // whole model (not a pipeline stage).
  absl::StatusOr<std::string> generate(const SampleOptions& options);
  // seq2seq: each line's translation (eval.beam_size and the other eval.* keys), detokenized
  // by the vocabulary beside the data; an empty line stays empty.
  absl::StatusOr<std::vector<std::string>> translate(const std::vector<std::string>& lines);

  // gan: `n` images from the generator (in evaluation mode), noise rows [0, n) of Philox
  // stream `stream` under `seed` (gan_task.h), labels 0, 1, ... cycling when conditional; host
  // f32 (n, C, H, W) in [-1, 1].
  absl::StatusOr<Tensor> generate_images(int64_t n, uint64_t seed, uint64_t stream);

  // gan: FID of `samples` (a dataset of images in [-1, 1]; null: gan.fid_samples images
  // from the generator) against the test split, and its floor, the training split's (as
  // many images) against the test split, in the features of the classifier in `classifier`
  // (fid_scorer.h). Progress on `out` (optional).
  struct Fid {
    double fid = 0, floor = 0;
    int64_t samples = 0;
  };
  absl::StatusOr<Fid> fid(const std::string& classifier, const Dataset* samples, FILE* out);

  Model& model() { return *model_; }
  const JobData& data() const { return data_; }
  Context& context() { return *ctx_; }
  int64_t steps_done() const { return step_; }
  std::string weights_path() const { return join_path(run_dir_, "weights.bin"); }
  // checkpoint.dir, or RUN_DIR/checkpoints.
  std::string checkpoints_dir() const {
    return spec_.checkpoint.dir.empty() ? join_path(run_dir_, "checkpoints") : spec_.checkpoint.dir;
  }

 private:
  Trainer(const JobSpec& spec, std::string run_dir, Communicator* comm);
  absl::Status open_device();
  absl::Status build(bool need_train);
  // Sizes the model on a shape-only Context (no memory spent) and fails with the estimate
  // when training it would not fit this rank's memory (memory_estimate.h).
  absl::Status check_memory(const Shape& sample_shape);
  // A shape-only copy of the whole model (no memory spent), with the Context it lives on
  // (declared first, so that it outlives the model).
  struct ShapeModel {
    std::unique_ptr<Context> ctx;
    std::unique_ptr<Model> model;
  };
  absl::StatusOr<ShapeModel> shape_model(const Shape& sample_shape);
  // Pipelines (trainer_pipeline.cc): where the model is cut (stage_plan_), from a shape-only copy (and, for the
  // `time` partition, layer times rank 0 measures and shares).
  absl::Status plan_pipeline(const Shape& sample_shape);
  // Pipelines: replaces model_ (built with only this rank's stage real) with that stage.
  absl::Status keep_my_stage();
  absl::Status make_strategy();
  // model.kind gan: the two optimizers and the GanTask, for images of `sample_shape`.
  absl::Status make_gan_task(const Shape& sample_shape);
  int my_stage() const { return comm_ ? comm_->rank() % static_cast<int>(spec_.parallel.pipeline.stages) : 0; }
  // Pipelines: weights.bin whole, from each stage's part (written by replica 0's ranks).
  absl::Status save_whole_weights();
  bool leader() const { return strategy_->leader(); }
  // "N threads" on the CPU, "cuda:I (NAME)" on a GPU.
  std::string device_description() const;
  // job.yaml, metrics.jsonl and its data records (rank 0).
  absl::StatusOr<std::unique_ptr<MetricsLog>> open_run_files();
  // The training batches: streamed shards (ShardStream) or a dataset in memory.
  absl::StatusOr<std::unique_ptr<BatchSource>> make_batch_source();
  // After the loop: the last checkpoint, the weights and the test set.
  absl::Status finish(Position end, MetricsLog* log, FILE* out);

  // Checkpoints (trainer_checkpoint.cc). Everything a checkpoint holds for this rank: model
  // state, optimizer state ("optim."), input standardization, and "meta." position (step,
  // next epoch and step in epoch, model signature, trajectory). Fills
  // `into`, reusing its buffers where names and sizes match.
  void checkpoint_state(Position next, NamedTensors& into);
  // Resumes from the newest complete checkpoint in the run directory, if any; returns the
  // position to continue from.
  absl::StatusOr<Position> resume(FILE* out);
  // The newest checkpoint every rank accepts: each reads its share of the rank files and
  // checks the others' sizes, and the ranks agree (trainer_checkpoint.cc).
  absl::StatusOr<FoundCheckpoint> agreed_checkpoint(FILE* out);
  // Adds to `t` (this rank's file of `found`) the model and optimizer tensors this rank
  // holds that are in other ranks' files (a checkpoint of another pipeline layout).
  absl::Status take_missing_state(const FoundCheckpoint& found, std::map<std::string, Tensor>& t);
  // whole_signature_ (the whole model's parameter names and shapes: a stage's are a slice
  // of them), whole_description_ and whole_params_, from `whole` (its shapes suffice).
  void set_whole_model_facts(Model& whole);
  // The settings that define the run's trajectory besides the model ("key=value;..."): a
  // checkpoint written under other values is refused, naming them.
  std::string trajectory() const;
  // Before the first save of this launch: rank 0 clears leftover step-N.partial
  // directories, the ranks agree on the resumed step and on a launch nonce (returned).
  absl::StatusOr<uint64_t> start_checkpointing();
  absl::Status load_pair_vocabulary(const char* data_key, const Dataset& ref);
  // seq2seq: the decoding settings (eval.*) with `beam`; a split's BLEU and chrF as eval
  // record figures, and as words for the console in `line`.
  DecodeOptions decode_options(int64_t beam) const;
  absl::StatusOr<ExtraFigures> translation_figures(const Dataset& data, int64_t beam, std::string& line);
  // gan, at the end: the FID record (training gan.fid_classifier first when it is unset:
  // RUN_DIR/fid_classifier, every rank), scored on rank 0.
  absl::Status score_fid(MetricsLog* log, FILE* out);
  // gan (rank 0): RUN_DIR/samples/step-N.png, 64 samples of the fixed noise batch, logged.
  absl::Status write_sample_grid(int64_t step, MetricsLog* log, FILE* out);
  // Snapshots the state after the current step and hands it to the saver.
  absl::Status save_checkpoint(Position next, MetricsLog* log);

  JobSpec spec_;
  std::string run_dir_;
  Communicator* comm_;  // (optional) the job's host communicator, more than one rank
  ContextOptions context_options_;
  std::unique_ptr<Context> ctx_;
  JobData data_;
  std::unique_ptr<Model> model_;  // the whole model, or (pipelined_) this rank's stage
  bool pipelined_ = false;        // training with parallel.pipeline.stages > 1
  bool language_model() const {
    return spec_.model.kind == ModelKind::kRnn || spec_.model.kind == ModelKind::kTransformer;
  }
  bool seq2seq() const { return spec_.model.kind == ModelKind::kSeq2seq; }
  bool token_model() const { return language_model() || seq2seq(); }
  bool gan() const { return spec_.model.kind == ModelKind::kGan; }
  // seq2seq: the vocabulary beside the shards, with its sentence markers (build()).
  std::shared_ptr<const Vocabulary> pair_vocab_;    // seq2seq: the target's (or joint) vocabulary
  std::shared_ptr<const Vocabulary> source_vocab_;  // the source's: pair_vocab_ when joint
  StagePlan stage_plan_;            // pipelined_
  std::string sequential_dropout_;  // resume: a checkpoint that drew dropout masks in sequence
  std::string whole_signature_;     // of the whole model (set_whole_model_facts)
  std::string whole_description_;   // its describe() and parameter count, for the header
  int64_t whole_params_ = 0;
  int64_t batches_per_step_ = 1;  // train.accumulate_steps × micro-batches (pipelines)
  MemoryEstimate memory_;         // per rank, for training
  std::unique_ptr<Optimizer> optimizer_;    // a GAN's generator's
  std::unique_ptr<Optimizer> d_optimizer_;  // a GAN's discriminator's (none for other models)
  std::unique_ptr<LossScaler> scaler_;  // runtime.precision: fp16 only
  std::unique_ptr<Task> task_;
  std::unique_ptr<Strategy> strategy_;
  std::unique_ptr<CheckpointSaver> saver_;
  std::unique_ptr<BatchSource> source_;
  std::string data_path_;  // a GPU rank's data path (storage.gpu_direct), for the run header
  NamedTensors snapshot_;  // the last checkpoint's copies, reused by the next
  int64_t steps_per_epoch_ = 0;
  int64_t step_ = 0;
  int64_t saved_step_ = -1, saves_ = 0, saved_bytes_ = 0;
};

}  // namespace ty
