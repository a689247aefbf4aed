// BatchSource: where the trainer takes this rank's batches from, one training step after
// another. Two kinds: SampledBatches (a Dataset in memory, gathered by sample index on the
// caller's thread) and ShardStream (storage/stream/: shards read and decoded ahead by
// background threads). Both cut the epoch's order into global batches the same way
// (DistributedSampler), so the data order does not depend on the number of ranks.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"
#include "storage/batch.h"
#include "storage/dataset.h"
#include "storage/distributed_sampler.h"

namespace ty {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t steps_per_epoch() const = 0;
  // Positions the source at `step` of `epoch`; next() then returns that step's batch and
  // moves on, through the following epochs.
  virtual absl::Status seek(int64_t epoch, int64_t step) = 0;
  // This rank's share of the next global batch: fields x f32 (n, sample...) and y i32 (n)
  // labels or f32 (n, width) targets (storage/batch.h).
  virtual absl::Status next(Batch& batch) = 0;
  // The record a position points at, as a number over all the data in file order, or -1
  // where the source cannot tell; a checkpoint keeps it to check, on resume, that the
  // data under the same position did not change.
  virtual int64_t record_at(int64_t epoch, int64_t step) const = 0;
  // Corrupt records skipped so far (storage.on_corrupt: skip).
  virtual int64_t skipped_records() const = 0;
  // Byte ranges read a second time because a record failed its CRC (optional).
  virtual int64_t refetched_ranges() const { return 0; }
};

// A Dataset's samples in DistributedSampler order.
class SampledBatches final : public BatchSource {
 public:
  SampledBatches(DatasetPtr data, DistributedSampler sampler) : data_(std::move(data)), sampler_(std::move(sampler)) {}
  int64_t steps_per_epoch() const override { return sampler_.steps_per_epoch(); }
  absl::Status seek(int64_t epoch, int64_t step) override;
  absl::Status next(Batch& batch) override;
  int64_t record_at(int64_t, int64_t) const override { return -1; }
  int64_t skipped_records() const override { return data_->skipped_records(); }

 private:
  DatasetPtr data_;
  DistributedSampler sampler_;
  int64_t epoch_ = -1, step_ = 0;
  std::shared_ptr<Allocator> memory_ = std::make_shared<CachingHostAllocator>(size_t{64} << 20);
};

}  // namespace ty
