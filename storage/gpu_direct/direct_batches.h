// GpuDirectBatches: the GPU data path over GPUDirect Storage (storage.gpu_direct: on, or
// auto where it is live). Shard bytes go from the file into device memory by cuFile, with
// no host copy:
//
//   loader   (a background thread) walks the steps from the seek position in order. Each
//            shuffle window (EpochPlan) that a step needs is read whole — its records'
//            4 KiB-aligned chunk runs, one read per shard it spans — into a registered
//            device buffer (storage.prefetch_mb / storage.shuffle_window_mb of them, at
//            least 3; more while one step needs more windows than that). The records this
//            rank trains on from the seek position on are checked on the device, CRC32C and
//            label bounds (DeviceIo::check_records on its copy stream); only their flags
//            come back. A window with a bad CRC is read once more; still bad, it fails the
//            step naming file, record and byte offset, or with skip_corrupt the record is
//            left out, counted (when its step is taken) and logged. A label out of bounds
//            fails the step, named as the host loader names it.
//   next()   gathers and decodes its step's records from the resident windows into the
//            batch's device tensors on the compute stream. A window's buffer is reused once
//            no step ahead needs it and the decodes that read it have run.
//
// The batches are the ShardStream's, record for record (same EpochPlan, same
// DistributedSampler shares), so a run may switch paths between a checkpoint and its resume.
// A window's whole byte span is read even where this rank trains on a part of it: with W
// ranks, W times the bytes the host path reads, traded for large aligned reads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/device_io.h"
#include "storage/batch_source.h"
#include "storage/gpu_direct/gpu_direct_file.h"
#include "storage/stream/epoch_plan.h"
#include "storage/stream/shard_set.h"
#include "storage/stream/shard_stream.h"

namespace ty {

class GpuDirectBatches final : public BatchSource {
 public:
  // Opens every shard with cuFile (an error says why the direct path is not live for it);
  // `options` as for ShardStream (prefetch_bytes, shuffle_window_bytes, skip_corrupt,
  // standardize...; the reader options do not apply). Batch tensors come from
  // `device_memory` on io's device.
  static absl::StatusOr<std::unique_ptr<GpuDirectBatches>> open(std::shared_ptr<const ShardSet> shards,
                                                                StreamOptions options, std::shared_ptr<DeviceIo> io,
                                                                std::shared_ptr<Allocator> device_memory);
  ~GpuDirectBatches() override;

  int64_t steps_per_epoch() const override { return sampler_.steps_per_epoch(); }
  absl::Status seek(int64_t epoch, int64_t step) override;
  absl::Status next(Batch& batch) override;
  int64_t record_at(int64_t epoch, int64_t step) const override;
  int64_t skipped_records() const override { return skipped_.load(); }
  int64_t refetched_ranges() const override { return refetched_.load(); }

 private:
  struct Buffer {  // a registered device buffer
    void* device = nullptr;
    size_t bytes = 0;
    std::unique_ptr<GpuDirectBuffer> registered;
  };
  struct Window {  // a shuffle window resident in a buffer (resident_'s key says which)
    int64_t last_seq = 0;  // the last step that needs it, as far as the loader has walked
    std::unique_ptr<Buffer> buffer;
    std::vector<const uint8_t*> at;  // device address of each of its positions' records
    std::vector<uint8_t> flags;      // record_flags of the positions this rank trains on
  };
  struct Step {
    absl::Status status;
    std::vector<const uint8_t*> records;  // on the device, good ones, in batch order
    int64_t first_sample = 0;
    std::vector<std::string> skipped;  // corrupt records left out (skip_corrupt), named
  };
  GpuDirectBatches(std::shared_ptr<const ShardSet> shards, StreamOptions options, std::shared_ptr<DeviceIo> io,
                   std::shared_ptr<Allocator> device_memory);
  void stop();
  void load_loop(int64_t start_seq);
  // Window `w` of `plan` read into a buffer and checked; an error for a failed read or a
  // record this rank needs that is bad beyond skip_corrupt.
  absl::Status load_window(const EpochPlan& plan, int64_t epoch, int64_t w, Window& window);
  absl::Status read_window(const EpochPlan& plan, int64_t w, Window& window);
  absl::Status check_window(const EpochPlan& plan, int64_t epoch, int64_t w, Window& window, bool last_pass,
                            bool& bad_crc);
  // A buffer of at least `bytes`: a free one, one of a window no step ahead needs (waiting
  // for the decodes that read it), or a new one. Null when stopping.
  absl::StatusOr<std::unique_ptr<Buffer>> take_buffer(size_t bytes, int64_t seq);
  Step make_step(const EpochPlan& plan, int64_t epoch, int64_t step);
  // This rank takes the record at `position` (or at its kPad wrap) at a position >= `from`.
  bool trains_on(int64_t position, int64_t from) const;

  std::shared_ptr<const ShardSet> shards_;
  StreamOptions options_;
  std::shared_ptr<DeviceIo> io_;
  std::shared_ptr<Allocator> device_memory_;
  DistributedSampler sampler_;
  RecordLayout layout_;
  std::vector<std::unique_ptr<GpuDirectFile>> files_;
  std::vector<int64_t> counts_;
  int64_t window_ = 1;
  size_t max_windows_ = 3;
  uint8_t* flags_device_ = nullptr;  // check results, per window position
  uint8_t* flags_host_ = nullptr;    // (page-locked)
  size_t flags_capacity_ = 0;

  std::mutex mu_;
  std::condition_variable ready_cv_, progress_cv_;
  bool stopping_ = false;
  std::thread loader_;
  std::map<std::pair<int64_t, int64_t>, Window> resident_;  // by (epoch, window)
  std::vector<std::unique_ptr<Buffer>> spare_;
  std::map<int64_t, Step> ready_;  // by seq (epoch * steps_per_epoch + step)
  int64_t next_seq_ = 0;
  int64_t start_epoch_ = 0, start_position_ = 0;  // the seek position
  DeviceIo::Marker decoded_;  // after the latest decode queued
  std::atomic<int64_t> skipped_{0}, refetched_{0};
};

}  // namespace ty
