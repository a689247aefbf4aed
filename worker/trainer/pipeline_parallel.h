// PipelineParallel: the model cut into P consecutive stages (models/model.h Model::cut) on a
// grid of D data replicas × P stages, rank = replica × P + stage. Each optimizer step's
// micro-batches (the batches a step takes: parallel.pipeline.microbatches ×
// train.accumulate_steps of them, each a share of data.batch_size) flow through one
// schedule (comm/pipeline/schedule.h, GPipe or 1F1B): this rank walks its stage's action
// list, activations and their gradients moving by tagged send/recv on the replica's stage
// group. The loss is computed on the last stage, each micro-batch weighing by its rows, so
// the gradients are the same mean a single process would take. Replicas of a stage share
// gradients over their own group (DataParallel: bucketed, overlapped with the last
// micro-batch's backward).
//
// Transfers are posted in the list's order and run one at a time per rank (as the
// simulator assumes, comm/pipeline/simulator.h); a forward or backward waits for the
// receive it needs, and the time spent not computing is the step's bubble.
#pragma once

#include <map>
#include <memory>

#include "comm/communicator.h"
#include "comm/pipeline/schedule.h"
#include "worker/trainer/data_parallel.h"

namespace ty {

// The most tensors a stage hands on per micro-batch (each its own tag).
inline constexpr int kMaxStageTensors = 16;

struct PipelineLayout {
  int stages = 1, replicas = 1;
  int stage = 0, replica = 0;  // this rank's
  bool last() const { return stage + 1 == stages; }
};

class PipelineParallel final : public Strategy {
 public:
  // `world`: the job's communicator, stages × replicas ranks. `inputs` / `outputs`: per
  // sample, the shapes this stage receives and sends on (f32). `device` (optional): opens a
  // GPU communicator over a host group (NCCL), for the stage and the replica groups.
  using OpenDevice = std::function<absl::StatusOr<std::unique_ptr<Communicator>>(Communicator& host)>;
  static absl::StatusOr<std::unique_ptr<PipelineParallel>> create(Communicator& world, int stages,
                                                                  pipeline::ScheduleKind kind,
                                                                  std::vector<Shape> inputs, std::vector<Shape> outputs,
                                                                  size_t bucket_bytes, const OpenDevice& device);
  ~PipelineParallel() override;

  const PipelineLayout& layout() const { return layout_; }
  int rank() const override { return world_.rank(); }
  int world() const override { return world_.size(); }
  int data_rank() const override { return layout_.replica; }
  int data_world() const override { return layout_.replicas; }

  absl::Status start(Model& model) override { return replicas_.start(model); }
  absl::StatusOr<Tensor> forward_backward(Context& ctx, Model& model, Task& task, std::vector<Batch>& batches,
                                          double scale) override;
  absl::Status end_backward() override { return replicas_.end_backward(); }
  absl::Status backward_group(Tape&, const Var&, size_t) override {
    return absl::UnimplementedError("a pipeline trains one network a step (a GAN trains data-parallel)");
  }
  absl::Status measure(Context& ctx, Model& model, Task& task, Batch& batch, MetricsAccumulator& m) override;
  absl::Status sum(std::vector<double>& values) override;
  absl::Status max(std::vector<double>& values) override;
  bool holds_part_of_model() const override { return layout_.stages > 1; }
  absl::Status sum_over_model(std::vector<double>& values) override;
  absl::StatusOr<std::optional<PipelineFigures>> take_pipeline_figures() override;
  std::string describe() const override;
  std::string report() const override { return replicas_.report(); }

 private:
  struct MicroBatch;
  PipelineParallel(Communicator& world, PipelineLayout layout, pipeline::ScheduleKind kind,
                   std::unique_ptr<Communicator> stage_group, std::unique_ptr<Communicator> replica_group,
                   std::unique_ptr<Communicator> device_stage_group, std::unique_ptr<Communicator> device_replica_group,
                   std::vector<Shape> inputs, std::vector<Shape> outputs, size_t bucket_bytes);
  // The validated schedule for `m` micro-batches (built once per m).
  absl::StatusOr<const pipeline::Schedule*> schedule_for(int m);
  // Where transfers go: the device group on a GPU, else the host group.
  Communicator& transfers() { return device_stage_group_ ? *device_stage_group_ : *stage_group_; }
  // The gradients a step has sent back and still holds: the micro-batches whose sends are
  // pending, their bytes, and the first send that failed.
  struct SentGradients {
    std::vector<int> returning;
    double bytes = 0;
    absl::Status failure;
  };
  // Drops the gradients of the micro-batches whose sends have all ended, so that a stage
  // holds no more than its live micro-batches (each ended handle leaves the list).
  void release_sent_gradients(std::vector<MicroBatch>& mbs, SentGradients& sent);
  // `first` (not OK) as an error naming this stage, `action` and the neighbour.
  absl::Status failed(const absl::Status& first, const pipeline::Action& action) const;
  // Posts receives of `shapes` × `rows` from `peer` into fresh tensors.
  void post_receives(Context& ctx, const std::vector<Shape>& shapes, int64_t rows, int peer, int tag,
                     std::vector<Tensor>& into, std::vector<CommHandlePtr>& handles);
  // Waits for `handles`, an error naming the stage, the action and the micro-batch.
  absl::Status wait(std::vector<CommHandlePtr>& handles, const pipeline::Action& action);

  Communicator& world_;
  PipelineLayout layout_;
  pipeline::ScheduleKind kind_;
  std::unique_ptr<Communicator> stage_group_;    // this replica's stages, rank = stage
  std::unique_ptr<Communicator> replica_group_;  // this stage's replicas (null: one replica)
  std::unique_ptr<Communicator> device_stage_group_;
  DataParallel replicas_;
  std::vector<Shape> inputs_, outputs_;
  std::map<int, pipeline::Schedule> schedules_;
  double busy_s_ = 0, step_s_ = 0;  // this epoch: computing, and whole steps
  double activation_bytes_ = 0;     // this epoch: the most held for micro-batches (PipelineFigures)
  int64_t steps_ = 0;               // taken by this process
};

}  // namespace ty
