// DataParallel: every rank holds the whole model and trains on its share of each global
// batch. Parameters and buffers are broadcast from rank 0 at the start; gradients are
// averaged in buckets launched as backward finishes them (GradientBucketer), each parameter
// group (a GAN's two networks) in buckets of its own. With no
// communicator (or one rank) it is a single process and every call is local. A pipeline
// (pipeline_parallel.h) uses one over the replicas of its stage.
#pragma once

#include <memory>

#include "comm/communicator.h"
#include "comm/gradient_bucketer.h"
#include "worker/trainer/strategy.h"

namespace ty {

class DataParallel final : public Strategy {
 public:
  // `host`: the job's communicator (host values, metrics); `device` (optional): the one for
  // parameters and gradients when they live on a GPU (NCCL); `bucket_bytes`: comm.bucket_mb.
  DataParallel(Communicator* host, std::unique_ptr<Communicator> device, size_t bucket_bytes);

  int rank() const override { return host_ ? host_->rank() : 0; }
  int world() const override { return host_ ? host_->size() : 1; }
  absl::Status start(Model& model) override;
  absl::StatusOr<Tensor> forward_backward(Context& ctx, Model& model, Task& task, std::vector<Batch>& batches,
                                          double scale) override;
  absl::Status end_backward() override;
  absl::Status backward_group(Tape& tape, const Var& loss, size_t group) override;
  absl::Status measure(Context& ctx, Model& model, Task& task, Batch& batch, MetricsAccumulator& m) override;
  absl::Status sum(std::vector<double>& values) override;
  absl::Status max(std::vector<double>& values) override;
  std::string describe() const override;
  std::string report() const override;

  // Around one backward: gradients shared as they become final (begin_backward), or held
  // to add to the next backward's (begin_local_backward: a step's earlier batches).
  void begin_backward();
  void begin_local_backward();

 private:
  Communicator* host_;                    // null: one process
  std::unique_ptr<Communicator> device_;  // NCCL on GPUs
  size_t bucket_bytes_;
  // One per parameter group (Model::param_groups): a GAN's two networks are shared apart.
  std::vector<std::unique_ptr<GradientBucketer>> bucketers_;
  GradientBucketer* bucketer() { return bucketers_.empty() ? nullptr : bucketers_[0].get(); }
};

// Copies every field of `batch` to the training device (no copy on the CPU).
void to_device(Context& ctx, Batch& batch);

}  // namespace ty
