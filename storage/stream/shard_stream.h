// ShardStream: the streaming loader. It gives this rank its share of every global batch
// of the shards in a ShardSet, read, checked and decoded ahead by background threads:
//
//   planner   walks the epoch's windows (EpochPlan) in order; for each it lists the
//             records this rank trains on (DistributedSampler::owner), groups them into
//             large sequential byte ranges per shard, and queues the ranges. It stays
//             within storage.prefetch_mb of records held in memory.
//   readers   (storage.reader_threads) read the ranges — pread into reused buffers, in
//             place from a mapping (storage.io), or O_DIRECT (storage.direct_io) — and
//             check each record's CRC32C. A mapped shard that shrinks during the run is
//             an error (SIGBUS caught), not a crash.
//   assemblers (two, taking alternate steps) decode each step's records into a batch
//             (features scaled/standardized, labels checked) and queue a few finished
//             batches for next(), which hands them out in step order. A window's memory
//             is freed once every batch up to its last one is assembled.
//
// The order of records depends only on (seed, epoch) and the shards (see EpochPlan), and
// rank r's share of global batch s is the same one DistributedSampler gives in memory, so
// any number of ranks sees the same global batches. A position is (epoch, step): seek()
// restarts the threads there, which is how a checkpoint resumes mid-epoch.
//
// A corrupt record (CRC mismatch) has its range read again once (refetched_ranges()); still
// bad, it fails next() with the file, record and byte offset, or with skip_corrupt is left
// out of its batch, counted and logged. A truncated file fails
// with the file and offset. Nothing is sized by a number read from a record.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "runtime/allocator.h"
#include "storage/batch_source.h"
#include "storage/stream/epoch_plan.h"
#include "storage/stream/read_file.h"
#include "storage/stream/shard_set.h"

namespace ty {

// storage.io: how shards are read without O_DIRECT. auto: mmap on local filesystems
// (page cache read in place), pread elsewhere (network filesystems serve large reads
// better than page faults).
enum class FileIo { kAuto, kPread, kMmap };

struct StreamOptions {
  uint64_t seed = 0;
  int rank = 0, world = 1;
  int64_t global_batch = 64;
  Remainder remainder = Remainder::kPartial;
  int64_t epochs = 1;                                // the stream ends after these
  int64_t shuffle_window_bytes = int64_t{64} << 20;  // storage.shuffle_window_mb
  int64_t prefetch_bytes = int64_t{256} << 20;       // storage.prefetch_mb
  int reader_threads = 2;                            // storage.reader_threads
  int remote_requests = 8;  // storage.s3.requests_in_flight: readers when shards are s3:// objects
  int assembler_threads = 2;                         // decode batches in parallel
  bool direct_io = false;                            // storage.direct_io
  FileIo io = FileIo::kAuto;                         // storage.io
  bool skip_corrupt = false;                         // storage.on_corrupt: skip
  bool standardize = false;                          // data.normalize: standardize
  float mean = 0.f, std = 1.f;
  int queue_batches = 4;  // decoded batches kept ready
  // Batches of the records' bytes as stored, x: u8 (n, payload bytes) and no y, for a
  // consumer that decodes elsewhere (on a device: storage/gpu_direct/staged_batches.h).
  // Their CRCs and labels are checked here all the same.
  bool raw_records = false;
  // Where batch tensors are made (null: a caching host allocator of the stream's own);
  // page-locked memory when batches go on to a device.
  std::shared_ptr<Allocator> batch_memory;
};

// Records per shuffle window: storage.shuffle_window_mb's bytes over a record's (at least 1).
int64_t shuffle_window_records(const ShardSet& shards, int64_t window_bytes);
// BatchSource::record_at for a streamed ShardSet: the record (numbered over all shards in
// file order) at the start of `step` of `epoch`; -1 without records.
int64_t streamed_record_at(const ShardSet& shards, int64_t window, uint64_t seed, int64_t global_batch,
                           int64_t epoch, int64_t step);

class ShardStream final : public BatchSource {
 public:
  // Opens every shard for reading (O_DIRECT errors show here); starts no thread until
  // seek().
  static absl::StatusOr<std::unique_ptr<ShardStream>> open(std::shared_ptr<const ShardSet> shards,
                                                           StreamOptions options);
  ~ShardStream() override;

  int64_t steps_per_epoch() const override { return sampler_.steps_per_epoch(); }
  absl::Status seek(int64_t epoch, int64_t step) override;
  absl::Status next(Batch& batch) override;
  int64_t record_at(int64_t epoch, int64_t step) const override;
  int64_t skipped_records() const override { return skipped_.load(); }
  int64_t refetched_ranges() const override { return refetched_.load(); }

 private:
  struct Load;
  struct Range;
  struct Assembled;
  ShardStream(std::shared_ptr<const ShardSet> shards, StreamOptions options);
  void stop();
  void plan_loop(int64_t epoch, int64_t step);
  void read_loop();
  void assemble_loop(int worker);
  // This rank's records of window `w` (w == windows: kPad's wrapped tail) from `first_step`
  // on; null when the rank has none there.
  std::shared_ptr<Load> make_load(const EpochPlan& plan, int64_t epoch, int64_t w, int64_t first_step) const;
  void queue_ranges(const std::shared_ptr<Load>& load);
  // Step `step`'s batch of `epoch`: waits (under `lock`) until its records are read, then
  // decodes them with the lock released. An error only when the stream stops.
  absl::StatusOr<Assembled> assemble(int64_t epoch, int64_t step, std::unique_lock<std::mutex>& lock);
  // (load, slot) per position of the step's share. A load is freed only once every batch up
  // to its last one is assembled, so the pointers stay valid while decoding.
  using Parts = std::vector<std::pair<const Load*, int32_t>>;
  absl::StatusOr<Parts> wait_for_parts(int64_t epoch, int64_t step, std::unique_lock<std::mutex>& lock);
  Assembled decode(const Parts& parts, int64_t epoch, int64_t step);

  std::shared_ptr<const ShardSet> shards_;
  StreamOptions options_;
  DistributedSampler sampler_;
  std::vector<ReadFile> files_;
  bool any_mapped_ = false;
  bool remote_ = false;  // s3:// shards: larger ranges, more readers
  std::vector<int64_t> counts_;  // records per shard
  int64_t window_ = 1;

  std::mutex mu_;
  // out_ready_cv_: next() waits for its batch; out_space_cv_: assemblers wait for room in
  // the queue of finished batches.
  std::condition_variable plan_cv_, read_cv_, assemble_cv_, out_ready_cv_, out_space_cv_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<Load>> loads_;  // planned, in order, not yet freed
  std::deque<Range> ranges_;                 // waiting for a reader
  // Steps are numbered epoch * steps_per_epoch + step ("seq") from the seek position on.
  std::map<int64_t, Assembled> out_;  // finished batches (or the error) by seq
  std::set<int64_t> assembled_;       // seqs assembled at or past assembled_below_
  int64_t start_seq_ = 0, next_seq_ = 0, assembled_below_ = 0;
  std::vector<AlignedBuffer> pool_;  // read buffers of freed loads
  // Batch tensors: freed ones come back for the next batches (no page faults per batch).
  std::shared_ptr<Allocator> batch_memory_;
  int64_t resident_bytes_ = 0;
  bool planner_done_ = false, starving_ = false;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> refetched_{0};
};

}  // namespace ty
