#include "storage/stream/shard_stream.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/shard/crc32c.h"
#include "storage/stream/shard_stream_parts.h"
#include "storage/stream/sigbus_guard.h"

namespace ty {
namespace {
// Records of one shard closer than this are read together (the gap is read and dropped):
// one large read beats many small ones on every device we target.
constexpr int64_t kCoalesceGap = int64_t{256} << 10;
// Ranges are cut at this size so that the reader threads share a window's reads.
constexpr int64_t kMaxRange = int64_t{4} << 20;
// The same for s3:// shards, where a request costs a round trip and the store's time to
// first byte: ranged GETs of 8-16 MiB, coalesced across larger gaps.
constexpr int64_t kRemoteCoalesceGap = int64_t{4} << 20;
constexpr int64_t kRemoteMaxRange = int64_t{16} << 20;

// Loader threads run in the SCHED_BATCH class: waking one (a batch taken, a read done)
// does not preempt the training thread or its compute threads, which would otherwise lose
// their core to the loader on every step. Best effort: without it only timing changes.
void batch_scheduling() {
  sched_param p{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &p);
}
}  // namespace

ShardStream::ShardStream(std::shared_ptr<const ShardSet> shards, StreamOptions options)
    : shards_(std::move(shards)),
      options_(options),
      sampler_(shards_->size(), options.seed, options.rank, options.world, options.global_batch, options.remainder),
      batch_memory_(options.batch_memory ? options.batch_memory
                                         : std::make_shared<CachingHostAllocator>(size_t{256} << 20)) {}

ShardStream::~ShardStream() { stop(); }

absl::StatusOr<std::unique_ptr<ShardStream>> ShardStream::open(std::shared_ptr<const ShardSet> shards,
                                                               StreamOptions options) {
  std::unique_ptr<ShardStream> s(new ShardStream(std::move(shards), options));
  for (int i = 0; i < s->shards_->shards(); ++i) {
    if (s->shards_->reader(i).remote()) {
      s->files_.push_back(ReadFile::open(s->shards_->reader(i).remote()));
      s->remote_ = true;
      continue;
    }
    TY_ASSIGN_OR_RETURN(
        ReadFile f, ReadFile::open(s->shards_->reader(i).path(), options.direct_io,
                                   options.io == FileIo::kMmap || (options.io == FileIo::kAuto &&
                                                                   on_local_filesystem(s->shards_->reader(i).path()))));
    s->any_mapped_ = s->any_mapped_ || f.mapped();
    s->files_.push_back(std::move(f));
  }
  s->counts_ = s->shards_->record_counts();
  s->window_ = shuffle_window_records(*s->shards_, options.shuffle_window_bytes);
  s->options_.reader_threads = std::max(1, s->remote_ ? std::max(options.reader_threads, options.remote_requests)
                                                      : options.reader_threads);
  s->options_.queue_batches = std::max(1, options.queue_batches);
  s->options_.assembler_threads = std::max(1, options.assembler_threads);
  return s;
}

void ShardStream::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  for (auto* cv : {&plan_cv_, &read_cv_, &assemble_cv_, &out_ready_cv_, &out_space_cv_}) cv->notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

absl::Status ShardStream::seek(int64_t epoch, int64_t step) {
  stop();
  if (step >= steps_per_epoch()) {
    ++epoch;
    step = 0;
  }
  if (epoch < 0 || step < 0)
    return absl::InvalidArgumentError(absl::StrCat("stream position (epoch ", epoch, ", step ", step, ") is invalid"));
  stopping_ = false;
  loads_.clear();
  ranges_.clear();
  out_.clear();
  assembled_.clear();
  start_seq_ = next_seq_ = assembled_below_ = epoch * steps_per_epoch() + step;
  resident_bytes_ = 0;
  planner_done_ = starving_ = false;
  threads_.emplace_back([this, epoch, step] {
    batch_scheduling();
    plan_loop(epoch, step);
  });
  for (int i = 0; i < options_.reader_threads; ++i)
    threads_.emplace_back([this] {
      batch_scheduling();
      read_loop();
    });
  for (int i = 0; i < options_.assembler_threads; ++i)
    threads_.emplace_back([this, i] {
      batch_scheduling();
      assemble_loop(i);
    });
  return absl::OkStatus();
}

int64_t shuffle_window_records(const ShardSet& shards, int64_t window_bytes) {
  return std::max<int64_t>(1, window_bytes / (shards.payload_bytes() + 4));
}

int64_t streamed_record_at(const ShardSet& shards, int64_t window, uint64_t seed, int64_t global_batch,
                           int64_t epoch, int64_t step) {
  const int64_t n = shards.size();
  if (n == 0) return -1;
  const EpochPlan plan(shards.record_counts(), window, seed, epoch);
  const RecordRef r = plan.at(step * global_batch % n);
  return shards.global_record(r.shard, r.record);
}

int64_t ShardStream::record_at(int64_t epoch, int64_t step) const {
  return streamed_record_at(*shards_, window_, options_.seed, options_.global_batch, epoch, step);
}

std::shared_ptr<ShardStream::Load> ShardStream::make_load(const EpochPlan& plan, int64_t epoch, int64_t w,
                                                          int64_t first_step) const {
  const int64_t n = plan.size(), batch = options_.global_batch;
  auto load = std::make_shared<Load>();
  load->epoch = epoch;
  load->first = w < plan.windows() ? w * window_ : n;
  load->end = w < plan.windows() ? std::min(n, load->first + window_) : steps_per_epoch() * batch;
  load->slot_of.assign(static_cast<size_t>(load->end - load->first), -1);
  const int64_t from = first_step * batch;
  int64_t last = -1;
  auto take = [&](int64_t p, RecordRef ref) {
    load->slot_of[p - load->first] = static_cast<int32_t>(load->refs.size());
    load->refs.push_back(ref);
    last = std::max(last, p);
  };
  if (w < plan.windows()) {
    // Window positions in file order: the i-th is where record unshuffled(first + i) goes.
    const std::vector<int64_t> order = plan.window_in_file_order(w);
    for (size_t i = 0; i < order.size(); ++i)
      if (order[i] >= from && sampler_.owner(order[i]) == options_.rank)
        take(order[i], plan.unshuffled(load->first + i));
  } else {  // kPad's tail: a few records from the start of the epoch's order
    std::vector<std::pair<RecordRef, int64_t>> mine;
    for (int64_t p = std::max(load->first, from); p < load->end; ++p)
      if (sampler_.owner(p) == options_.rank) mine.emplace_back(plan.at(p - n), p);
    std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) {
      return a.first.shard != b.first.shard ? a.first.shard < b.first.shard : a.first.record < b.first.record;
    });
    for (const auto& [ref, p] : mine) take(p, ref);
  }
  if (load->refs.empty()) return nullptr;
  load->last_step = last / batch;
  const size_t slots = load->refs.size();
  load->records.assign(slots, nullptr);
  load->bad.assign(slots, 0);
  // Group the slots into ranges: same shard, gaps up to kCoalesceGap, at most kMaxRange.
  const int64_t record_bytes = shards_->payload_bytes() + 4;
  const int64_t max_gap = remote_ ? kRemoteCoalesceGap : kCoalesceGap, max_range = remote_ ? kRemoteMaxRange : kMaxRange;
  for (size_t slot = 0; slot < slots; ++slot) {
    const RecordRef ref = load->refs[slot];
    const int64_t at = shards_->reader(ref.shard).record_offset(ref.record);
    load->offsets.push_back(at);
    Range* r = load->ranges.empty() ? nullptr : &load->ranges.back();
    if (r == nullptr || r->shard != ref.shard || at < r->offset + r->length ||
        at - (r->offset + r->length) > max_gap || at + record_bytes - r->offset > max_range) {
      load->ranges.push_back(Range{nullptr, ref.shard, at, 0, static_cast<int64_t>(slot), 0, load->ranges.size()});
      r = &load->ranges.back();
    }
    r->length = at + record_bytes - r->offset;
    r->slot_end = static_cast<int64_t>(slot) + 1;
  }
  for (const Range& r : load->ranges) load->bytes += r.length;
  return load;
}

void ShardStream::queue_ranges(const std::shared_ptr<Load>& load) {
  load->pending = static_cast<int>(load->ranges.size());
  for (Range& r : load->ranges) {
    r.load = load;
    if (!pool_.empty()) {  // reuse freed buffers: no page faults after the first windows
      load->buffers.push_back(std::move(pool_.back()));
      pool_.pop_back();
    } else {
      load->buffers.emplace_back();
    }
    ranges_.push_back(std::move(r));
  }
  load->ranges.clear();
}

void ShardStream::plan_loop(int64_t epoch, int64_t step) {
  const int64_t batch = options_.global_batch;
  for (int64_t e = epoch; e < options_.epochs; ++e) {
    const EpochPlan plan(counts_, window_, options_.seed, e);
    const int64_t first_step = e == epoch ? step : 0;
    const bool wrap = steps_per_epoch() * batch > plan.size();  // kPad's tail
    const int64_t w0 = std::min(first_step * batch, plan.size()) / window_;
    for (int64_t w = w0; w < plan.windows() + (wrap ? 1 : 0); ++w) {
      std::shared_ptr<Load> load = make_load(plan, e, w, first_step);
      if (!load) continue;
      std::unique_lock<std::mutex> lock(mu_);
      plan_cv_.wait(lock, [&] {
        return stopping_ || loads_.empty() || starving_ || resident_bytes_ + load->bytes <= options_.prefetch_bytes;
      });
      if (stopping_) return;
      resident_bytes_ += load->bytes;
      starving_ = false;
      loads_.push_back(load);
      queue_ranges(load);
      read_cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  planner_done_ = true;
  assemble_cv_.notify_all();
}

void ShardStream::read_loop() {
  const int64_t payload = shards_->payload_bytes();
  for (;;) {
    Range r;
    {
      std::unique_lock<std::mutex> lock(mu_);
      read_cv_.wait(lock, [&] { return stopping_ || !ranges_.empty(); });
      if (stopping_) return;
      r = std::move(ranges_.front());
      ranges_.pop_front();
    }
    Load& load = *r.load;
    absl::Status st;
    const ReadFile& file = files_[r.shard];
    // A range with a bad record is read once more before storage.on_corrupt applies: a bit
    // flipped on the way (network, bus) is not in the data. (A mapping would give the same
    // bytes again.)
    for (int pass = 0; pass < 2; ++pass) {
      absl::StatusOr<const char*> data = file.read(r.offset, r.length, load.buffers[r.buffer]);
      if (!data.ok()) {
        st = data.status();
        break;
      }
      int64_t bad_slot = -1;  // the first bad record
      auto check = [&] {
        for (int64_t slot = r.slot_begin; slot < r.slot_end; ++slot) {
          const char* p = *data + (load.offsets[slot] - r.offset);
          uint32_t crc;
          std::memcpy(&crc, p + payload, 4);
          const bool good = crc == crc32c(p, static_cast<size_t>(payload));
          load.records[slot] = good ? p : nullptr;
          load.bad[slot] = good ? 0 : 1;  // skipped ones are counted and logged when their batch is assembled
          if (!good && bad_slot < 0) bad_slot = slot;
          if (!good && !options_.skip_corrupt) return;
        }
      };
      if (!file.mapped()) {
        check();
      } else if (!run_guarded(check)) {
        st = absl::DataLossError(absl::StrCat(file.path(), ": shrank while mapped (SIGBUS reading bytes [", r.offset,
                                              ", ", r.offset + r.length, ")); was it changed during the run?"));
        break;
      }
      if (bad_slot < 0) break;
      if (pass == 0 && !file.mapped()) {
        ++refetched_;
        LOG(WARNING) << file.path() << ": record " << load.refs[bad_slot].record << " at byte offset "
                     << load.offsets[bad_slot] << " fails its CRC32C check; reading bytes [" << r.offset << ", "
                     << r.offset + r.length << ") again";
        continue;
      }
      if (!options_.skip_corrupt)
        st = absl::DataLossError(absl::StrCat(file.path(), ": record ", load.refs[bad_slot].record, " at byte offset ",
                                              load.offsets[bad_slot], " fails its CRC32C check (corrupt data)"));
      break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.ok() && load.error.ok()) load.error = st;
    if (--load.pending == 0) assemble_cv_.notify_all();
  }
}

absl::StatusOr<ShardStream::Assembled> ShardStream::assemble(int64_t epoch, int64_t step,
                                                             std::unique_lock<std::mutex>& lock) {
  TY_ASSIGN_OR_RETURN(Parts parts, wait_for_parts(epoch, step, lock));
  lock.unlock();
  Assembled b = decode(parts, epoch, step);
  parts.clear();
  lock.lock();
  return b;
}

absl::StatusOr<ShardStream::Parts> ShardStream::wait_for_parts(int64_t epoch, int64_t step,
                                                               std::unique_lock<std::mutex>& lock) {
  const BatchShare share = sampler_.share(step, options_.rank);
  Parts parts;
  parts.reserve(static_cast<size_t>(share.count));
  const Load* last = nullptr;  // consecutive positions mostly share a load
  for (int64_t p = share.first; p < share.first + share.count; ++p) {
    for (;;) {
      if (last == nullptr || p < last->first || p >= last->end) {
        auto it = std::find_if(loads_.begin(), loads_.end(), [&](const std::shared_ptr<Load>& l) {
          return l->epoch == epoch && l->first <= p && p < l->end;
        });
        last = it == loads_.end() ? nullptr : it->get();
      }
      if (last != nullptr && last->pending == 0) {
        const int32_t slot = last->slot_of[p - last->first];
        CHECK(slot >= 0) << "position " << p << " of epoch " << epoch << " is not rank " << options_.rank << "'s";
        parts.emplace_back(last, slot);
        break;
      }
      CHECK(last != nullptr || !planner_done_) << "no load holds position " << p << " of epoch " << epoch;
      if (last == nullptr) {
        starving_ = true;  // the planner may exceed the prefetch budget for what is needed now
        plan_cv_.notify_all();
      }
      // Checked before waiting too: a stop that came before this thread first took the lock
      // has notified nobody (found under AddressSanitizer: a destructor joined forever).
      if (stopping_) return absl::CancelledError("stream stopped");
      assemble_cv_.wait(lock);
    }
  }
  return parts;
}

void ShardStream::assemble_loop(int worker) {
  const int64_t steps = steps_per_epoch(), end = options_.epochs * steps;
  std::unique_lock<std::mutex> lock(mu_);
  for (int64_t seq = start_seq_ + worker; seq < end; seq += options_.assembler_threads) {
    absl::StatusOr<Assembled> b = assemble(seq / steps, seq % steps, lock);
    if (!b.ok()) return;  // stopping
    const bool failed = !b->status.ok();
    out_space_cv_.wait(lock, [&] { return stopping_ || seq < next_seq_ + options_.queue_batches; });
    if (stopping_) return;
    out_.emplace(seq, *std::move(b));
    if (seq == next_seq_) out_ready_cv_.notify_one();  // the one batch next() waits for
    if (failed) return;
    // Loads whose records are all taken (every batch up to their last one assembled)
    // free their memory for the planner.
    assembled_.insert(seq);
    while (!assembled_.empty() && *assembled_.begin() == assembled_below_) {
      assembled_.erase(assembled_.begin());
      ++assembled_below_;
    }
    while (!loads_.empty() && loads_.front()->epoch * steps + loads_.front()->last_step < assembled_below_) {
      resident_bytes_ -= loads_.front()->bytes;
      for (AlignedBuffer& buf : loads_.front()->buffers) pool_.push_back(std::move(buf));
      loads_.pop_front();
      plan_cv_.notify_all();
    }
  }
}

absl::Status ShardStream::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mu_);
  CHECK(!threads_.empty()) << "ShardStream::next() before seek()";
  if (next_seq_ >= options_.epochs * steps_per_epoch())
    return absl::OutOfRangeError(
        absl::StrCat("the data stream ended after epoch ", options_.epochs, " (train.epochs)"));
  out_ready_cv_.wait(lock, [&] { return out_.count(next_seq_) > 0; });
  Assembled& b = out_.at(next_seq_);
  if (!b.status.ok()) return b.status;  // stays: every later call fails alike
  batch = Batch();
  batch.set("x", std::move(b.x));
  if (b.y.defined()) batch.set("y", std::move(b.y));
  batch.set_first_sample(sampler_.share(next_seq_ % steps_per_epoch(), options_.rank).first);
  out_.erase(next_seq_++);
  out_space_cv_.notify_all();
  return absl::OkStatus();
}

}  // namespace ty
