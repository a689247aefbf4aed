// StagedDeviceBatches: the GPU data path that needs nothing of the host but a GPU
// (storage.gpu_direct: off, or auto where cuFile is not live). A ShardStream reads and
// checks records as always (O_DIRECT with storage.direct_io; CRC32C and labels on its
// threads) and gathers each step's records undecoded into page-locked memory, a ring of
// blocks reused batch after batch. This copies them to the device on DeviceIo's copy stream
// `depth` steps ahead; next() queues their decoding into the batch's device tensors on the
// compute stream, behind the copy. The host decodes nothing, the compute stream waits only
// for its own batch's copy, and the host waits for the device only to reuse a buffer that a
// queued copy or decode still reads.
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "runtime/device_io.h"
#include "storage/batch.h"
#include "storage/stream/shard_stream.h"

namespace ty {

class StagedDeviceBatches final : public BatchSource {
 public:
  // `records`: a ShardStream with raw_records and batch_memory = pinned_memory(io);
  // `layout`: device_record_layout(shards, /*checked=*/false, ...); `fields`: the batch's
  // (sample_fields); `device_memory`: where batch tensors are made (the Context's).
  StagedDeviceBatches(std::unique_ptr<ShardStream> records, std::shared_ptr<DeviceIo> io, RecordLayout layout,
                      std::vector<FieldSpec> fields, std::shared_ptr<Allocator> device_memory, int depth = 3);
  ~StagedDeviceBatches() override;

  int64_t steps_per_epoch() const override { return records_->steps_per_epoch(); }
  absl::Status seek(int64_t epoch, int64_t step) override;
  absl::Status next(Batch& batch) override;
  int64_t record_at(int64_t epoch, int64_t step) const override { return records_->record_at(epoch, step); }
  int64_t skipped_records() const override { return records_->skipped_records(); }
  int64_t refetched_ranges() const override { return records_->refetched_ranges(); }

 private:
  struct Ahead {           // a step whose records are on their way to the device
    absl::Status status;   // the stream's error for this step (then nothing else is set)
    Tensor raw;            // page-locked rows, kept until their copy is done
    void* staged = nullptr;  // device buffer of `bytes`
    size_t bytes = 0;
    DeviceIo::Marker copied;
    int64_t first_sample = 0;
  };
  struct Buffer {  // a device staging buffer and the decode that last read it
    void* device = nullptr;
    size_t bytes = 0;
    DeviceIo::Marker read;
  };
  void fill_ahead();
  absl::StatusOr<Buffer> staging_buffer(size_t bytes);
  void drain();  // waits for every queued copy and decode, frees what they used

  std::unique_ptr<ShardStream> records_;
  std::shared_ptr<DeviceIo> io_;
  RecordLayout layout_;
  std::vector<FieldSpec> fields_;
  std::shared_ptr<Allocator> device_memory_;
  int depth_;
  bool ended_ = false;  // the stream returned an error: no more steps until seek()
  std::deque<Ahead> ahead_;
  std::deque<Buffer> free_;                             // oldest first
  std::deque<std::pair<Tensor, DeviceIo::Marker>> retiring_;  // host rows until copied
};

}  // namespace ty
