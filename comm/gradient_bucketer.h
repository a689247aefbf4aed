// GradientBucketer: data-parallel gradient averaging overlapped with backward.
//
// Parameters are packed, in reverse order of use (the order backward finishes them), into
// flat buckets of about `bucket_bytes`; each parameter's gradient becomes a view into its
// bucket. When the last gradient of a bucket is final (the tape's grad-ready hook), the
// bucket's allreduce(avg) is queued on the communicator and runs while backward goes on.
//
// Protocol, per step, on every rank:
//  1. begin_step() clears the ready marks.
//  2. backward fires hooks; bucket i is launched once it is complete and buckets 0..i-1
//     are launched (so every rank submits collectives in the same order).
//  3. finish_step() launches what is left (zero-filling gradients no op produced), waits
//     for every bucket, and returns the first error (a timeout names the operation).
//  4. The optimizer steps on the averaged gradients.
// With gradient accumulation, hold() before each backward but the step's last keeps the
// hooks from launching anything; that last one's begin_step() shares the accumulated sums.
#pragma once

#include <chrono>
#include <vector>

#include "comm/communicator.h"
#include "runtime/autograd.h"

namespace ty {

class GradientBucketer {
 public:
  // `params` in forward order (the model's order).
  GradientBucketer(Communicator& comm, std::vector<Var> params, size_t bucket_bytes);
  ~GradientBucketer();
  GradientBucketer(const GradientBucketer&) = delete;
  GradientBucketer& operator=(const GradientBucketer&) = delete;

  void begin_step();
  absl::Status finish_step();
  // Gradient accumulation: backward passes until the next begin_step() fire no collective
  // (their gradients add up locally; the step's begin_step() shares the sum).
  void hold();

  size_t num_buckets() const { return buckets_.size(); }
  // Parameter indices (into `params`) of bucket b, in packing order.
  const std::vector<size_t>& bucket_params(size_t b) const { return buckets_[b].params; }
  // Seconds finish_step() spent waiting, and seconds the communicator spent executing the
  // buckets' allreduces, summed over steps: 1 - waited / comm is the share of
  // communication hidden behind backward.
  double waited_seconds() const { return waited_; }
  double comm_seconds() const { return comm_seconds_; }

 private:
  struct Bucket {
    Tensor buffer;
    std::vector<size_t> params;
    size_t pending = 0;
    bool launched = false;
    CommHandlePtr handle;
  };
  void on_ready(size_t param);
  void launch_ready_in_order();

  Communicator& comm_;
  std::vector<Var> params_;
  std::vector<size_t> bucket_of_;
  std::vector<bool> ready_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  double waited_ = 0, comm_seconds_ = 0;
};

// Broadcasts every tensor from `root` (parameters and buffers at the start of training).
absl::Status broadcast_tensors(Communicator& comm, const std::vector<Tensor>& tensors, int root = 0);

}  // namespace ty
