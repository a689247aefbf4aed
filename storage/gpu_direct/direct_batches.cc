#include "storage/gpu_direct/direct_batches.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/status.h"
#include "storage/gpu_direct/record_layout.h"

namespace ty {
namespace {

constexpr int64_t kAlign = 4096;
constexpr size_t kMaxStepsAhead = 256;  // steps the loader prepares past next()'s
constexpr int kLoggedSkips = 10;

int64_t align_down(int64_t v) { return v / kAlign * kAlign; }
int64_t align_up(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

}  // namespace

GpuDirectBatches::GpuDirectBatches(std::shared_ptr<const ShardSet> shards, StreamOptions options,
                                   std::shared_ptr<DeviceIo> io, std::shared_ptr<Allocator> device_memory)
    : shards_(std::move(shards)),
      options_(options),
      io_(std::move(io)),
      device_memory_(std::move(device_memory)),
      sampler_(shards_->size(), options.seed, options.rank, options.world, options.global_batch, options.remainder) {}

absl::StatusOr<std::unique_ptr<GpuDirectBatches>> GpuDirectBatches::open(std::shared_ptr<const ShardSet> shards,
                                                                         StreamOptions options,
                                                                         std::shared_ptr<DeviceIo> io,
                                                                         std::shared_ptr<Allocator> device_memory) {
  if (shards->fields().tokens())
    return absl::FailedPreconditionError(
        "token records are decoded on the host (their ids are checked against the vocabulary there)");
  std::unique_ptr<GpuDirectBatches> b(
      new GpuDirectBatches(std::move(shards), options, std::move(io), std::move(device_memory)));
  for (int i = 0; i < b->shards_->shards(); ++i) {
    if (b->shards_->reader(i).remote())
      return absl::FailedPreconditionError(
          absl::StrCat(b->shards_->reader(i).path(), ": an object store's shards cannot be read by cuFile"));
    TY_ASSIGN_OR_RETURN(auto f, GpuDirectFile::open(b->shards_->reader(i).path()));
    b->files_.push_back(std::move(f));
  }
  b->counts_ = b->shards_->record_counts();
  b->window_ = shuffle_window_records(*b->shards_, options.shuffle_window_bytes);
  b->max_windows_ = static_cast<size_t>(std::max<int64_t>(3, options.prefetch_bytes / options.shuffle_window_bytes));
  b->layout_ = device_record_layout(*b->shards_, true, options.standardize, options.mean, options.std);
  // The first window buffer, registered now: a device whose memory cuFile will not register
  // is not live either (and says so before training, not at the first read).
  {
    const size_t bytes = static_cast<size_t>(b->window_ * (b->shards_->payload_bytes() + 4)) + (size_t{64} << 10);
    TY_ASSIGN_OR_RETURN(std::unique_ptr<Buffer> first, b->take_buffer(bytes, 0));
    b->spare_.push_back(std::move(first));
  }
  b->flags_capacity_ = static_cast<size_t>(b->window_);
  TY_ASSIGN_OR_RETURN(void* fd, b->io_->alloc_device(b->flags_capacity_));
  b->flags_device_ = static_cast<uint8_t*>(fd);
  TY_ASSIGN_OR_RETURN(void* fh, b->io_->alloc_pinned(b->flags_capacity_));
  b->flags_host_ = static_cast<uint8_t*>(fh);
  return b;
}

GpuDirectBatches::~GpuDirectBatches() {
  stop();
  for (auto& [key, w] : resident_) spare_.push_back(std::move(w.buffer));
  resident_.clear();
  for (auto& b : spare_) {
    b->registered.reset();
    io_->free_device(b->device);
  }
  if (flags_device_) io_->free_device(flags_device_);
  if (flags_host_) io_->free_pinned(flags_host_);
}

void GpuDirectBatches::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  progress_cv_.notify_all();
  ready_cv_.notify_all();
  if (loader_.joinable()) loader_.join();
  (void)io_->wait(decoded_);  // no decode still reads a window's buffer
  stopping_ = false;
}

int64_t GpuDirectBatches::record_at(int64_t epoch, int64_t step) const {
  return streamed_record_at(*shards_, window_, options_.seed, options_.global_batch, epoch, step);
}

absl::Status GpuDirectBatches::seek(int64_t epoch, int64_t step) {
  stop();
  for (auto& [key, w] : resident_) spare_.push_back(std::move(w.buffer));
  resident_.clear();
  ready_.clear();
  next_seq_ = epoch * steps_per_epoch() + step;
  start_epoch_ = epoch;  // records before the resume point are neither read for a step nor checked
  start_position_ = step * options_.global_batch;
  loader_ = std::thread([this, seq = next_seq_] { load_loop(seq); });
  return absl::OkStatus();
}

bool GpuDirectBatches::trains_on(int64_t position, int64_t from) const {
  const int64_t wrapped = position + shards_->size();  // (kPad: the last step wraps to the start)
  return (position >= from && sampler_.owner(position) == options_.rank) ||
         (wrapped >= from && sampler_.owner(wrapped) == options_.rank);
}

absl::StatusOr<std::unique_ptr<GpuDirectBatches::Buffer>> GpuDirectBatches::take_buffer(size_t bytes, int64_t seq) {
  std::unique_ptr<Buffer> b;
  DeviceIo::Marker decoded;
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Wait for a window no step ahead needs. When the step being loaded needs every
    // resident one, none will be freed: go past the budget (as the host loader does).
    progress_cv_.wait(lock, [&] {
      if (stopping_ || !spare_.empty() || resident_.size() < max_windows_) return true;
      bool all_needed_now = true;
      for (auto& [key, w] : resident_) {
        if (w.last_seq < next_seq_) return true;  // every step that reads it is decoded
        all_needed_now = all_needed_now && w.last_seq >= seq;
      }
      return all_needed_now;
    });
    if (stopping_) return std::unique_ptr<Buffer>();
    if (!spare_.empty()) {
      b = std::move(spare_.back());
      spare_.pop_back();
    } else if (resident_.size() >= max_windows_) {  // (none evictable: a new buffer past the budget)
      for (auto it = resident_.begin(); it != resident_.end(); ++it)
        if (it->second.last_seq < next_seq_) {
          b = std::move(it->second.buffer);
          resident_.erase(it);
          break;
        }
    }
    decoded = decoded_;  // after the decodes of every step up to next_seq_
  }
  if (b) TY_RETURN_IF_ERROR(io_->wait(decoded));  // (a reused buffer: nothing reads it any more)
  if (b && b->bytes >= bytes) return b;
  if (b) {
    b->registered.reset();
    io_->free_device(b->device);
  }
  b = std::make_unique<Buffer>();
  TY_ASSIGN_OR_RETURN(b->device, io_->alloc_device(bytes));
  b->bytes = bytes;
  absl::StatusOr<std::unique_ptr<GpuDirectBuffer>> reg = GpuDirectBuffer::register_memory(b->device, bytes);
  if (!reg.ok()) {
    io_->free_device(b->device);
    return reg.status();
  }
  b->registered = std::move(*reg);
  return b;
}

absl::Status GpuDirectBatches::read_window(const EpochPlan& plan, int64_t w, Window& window) {
  const int64_t n = plan.size(), first = w * window_, end = std::min(n, first + window_);
  const int64_t record_bytes = shards_->payload_bytes() + 4;
  // The window's records in file order are runs of consecutive records of one shard.
  struct Run {
    int shard;
    int64_t r0, r1, span_start, span_end, at;
  };
  std::vector<Run> runs;
  for (int64_t q = first; q < end; ++q) {
    const RecordRef ref = plan.unshuffled(q);
    if (!runs.empty() && runs.back().shard == ref.shard && runs.back().r1 + 1 == ref.record) {
      runs.back().r1 = ref.record;
    } else {
      runs.push_back({ref.shard, ref.record, ref.record, 0, 0, 0});
    }
  }
  int64_t total = 0;
  for (Run& r : runs) {
    const ShardReader& reader = shards_->reader(r.shard);
    r.span_start = align_down(reader.record_offset(r.r0));
    r.span_end = std::min(align_up(reader.record_offset(r.r1) + record_bytes), files_[r.shard]->size());
    r.at = total;
    total += align_up(r.span_end - r.span_start);
  }
  if (!window.buffer) {  // (a second pass reads into the same buffer)
    TY_ASSIGN_OR_RETURN(window.buffer, take_buffer(static_cast<size_t>(total), window.last_seq));
    if (!window.buffer) return absl::CancelledError("stopping");
  }
  for (const Run& r : runs)
    TY_RETURN_IF_ERROR(
        files_[r.shard]->read(r.span_start, r.span_end - r.span_start, *window.buffer->registered, r.at));
  // Each position's record address.
  const uint8_t* base = static_cast<const uint8_t*>(window.buffer->device);
  window.at.assign(static_cast<size_t>(end - first), nullptr);
  for (int64_t p = first; p < end; ++p) {
    const RecordRef ref = plan.at(p);
    auto run = std::find_if(runs.begin(), runs.end(), [&](const Run& r) {
      return r.shard == ref.shard && ref.record >= r.r0 && ref.record <= r.r1;
    });
    CHECK(run != runs.end()) << "position " << p << " outside window " << w;
    window.at[p - first] = base + run->at + shards_->reader(ref.shard).record_offset(ref.record) - run->span_start;
  }
  return absl::OkStatus();
}

absl::Status GpuDirectBatches::check_window(const EpochPlan& plan, int64_t epoch, int64_t w, Window& window,
                                            bool last_pass, bool& bad_crc) {
  const int64_t first = w * window_;
  std::vector<const uint8_t*> records;
  std::vector<int64_t> positions;
  for (int64_t i = 0; i < static_cast<int64_t>(window.at.size()); ++i)
    if (trains_on(first + i, epoch == start_epoch_ ? start_position_ : 0)) {
      records.push_back(window.at[i]);
      positions.push_back(first + i);
    }
  window.flags.assign(window.at.size(), 0);
  bad_crc = false;
  if (records.empty()) return absl::OkStatus();
  const int64_t m = static_cast<int64_t>(records.size());
  TY_RETURN_IF_ERROR(io_->check_records(records.data(), m, layout_, flags_device_));
  TY_RETURN_IF_ERROR(io_->copy_to_host(flags_host_, flags_device_, static_cast<size_t>(m)));
  TY_ASSIGN_OR_RETURN(DeviceIo::Marker checked, io_->mark_copies());
  TY_RETURN_IF_ERROR(io_->wait(checked));
  for (int64_t j = 0; j < m; ++j) {
    const uint8_t f = flags_host_[j];
    window.flags[positions[j] - first] = f;
    if (f == 0) continue;
    const RecordRef ref = plan.at(positions[j]);
    const ShardReader& reader = shards_->reader(ref.shard);
    if (f & kRecordBadLabel && !(f & kRecordBadCrc)) {
      // Read on the host to name the label the way the host loader does.
      std::vector<char> rec(static_cast<size_t>(shards_->payload_bytes()));
      TY_RETURN_IF_ERROR(reader.read(ref.record, 1, rec.data()));
      const TrainingFields& fields = shards_->fields();
      TY_RETURN_IF_ERROR(
          shards_->check_labels(rec.data() + fields.x_offset, rec.data() + fields.y_offset, ref.shard, ref.record));
      return absl::InvalidArgumentError(absl::StrCat(reader.path(), ": a label of record ", ref.record,
                                                     " is out of bounds on the device but not on the host"));
    }
    bad_crc = true;
    if (!last_pass) {
      LOG(WARNING) << reader.path() << ": record " << ref.record << " at byte offset "
                   << reader.record_offset(ref.record) << " fails its CRC32C check; reading window " << w
                   << " of epoch " << epoch << " again";
      return absl::OkStatus();
    }
    if (!options_.skip_corrupt)
      return absl::DataLossError(absl::StrCat(reader.path(), ": record ", ref.record, " at byte offset ",
                                              reader.record_offset(ref.record), " fails its CRC32C check (corrupt data)"));
  }
  return absl::OkStatus();
}

absl::Status GpuDirectBatches::load_window(const EpochPlan& plan, int64_t epoch, int64_t w, Window& window) {
  for (int pass = 0; pass < 2; ++pass) {
    TY_RETURN_IF_ERROR(read_window(plan, w, window));
    bool bad_crc = false;
    TY_RETURN_IF_ERROR(check_window(plan, epoch, w, window, pass == 1, bad_crc));
    if (!bad_crc) return absl::OkStatus();
    if (pass == 0) ++refetched_;
  }
  return absl::OkStatus();  // bad records left, flagged: skipped where a step takes them
}

GpuDirectBatches::Step GpuDirectBatches::make_step(const EpochPlan& plan, int64_t epoch, int64_t step) {
  Step s;
  const BatchShare share = sampler_.share(step, options_.rank);
  s.first_sample = share.first;
  const int64_t n = plan.size();
  for (int64_t i = 0; i < share.count; ++i) {
    const int64_t p = (share.first + i) % n, w = p / window_;
    const Window& win = resident_.at({epoch, w});
    if (win.flags[p - w * window_] != 0) {
      const RecordRef ref = plan.at(p);
      s.skipped.push_back(absl::StrCat(shards_->reader(ref.shard).path(), ": record ", ref.record, " at byte offset ",
                                       shards_->reader(ref.shard).record_offset(ref.record)));
      continue;
    }
    s.records.push_back(win.at[p - w * window_]);
  }
  if (s.records.empty() && share.count > 0)
    s.status = absl::DataLossError(
        absl::StrCat("every record of step ", step, " of epoch ", epoch, " on rank ", options_.rank, " is corrupt"));
  return s;
}

void GpuDirectBatches::load_loop(int64_t start_seq) {
  const int64_t spe = steps_per_epoch(), end_seq = options_.epochs * spe;
  std::unique_ptr<EpochPlan> plan;
  for (int64_t seq = start_seq; seq < end_seq; ++seq) {
    const int64_t epoch = seq / spe, step = seq % spe;
    if (!plan || seq == start_seq || step == 0)
      plan = std::make_unique<EpochPlan>(counts_, window_, options_.seed, epoch);
    const BatchShare share = sampler_.share(step, options_.rank);
    std::set<int64_t> needed;
    for (int64_t i = 0; i < share.count; ++i) needed.insert((share.first + i) % plan->size() / window_);
    absl::Status st;
    std::vector<int64_t> missing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int64_t w : needed) {  // (first: loading one must not evict another this step reads)
        auto it = resident_.find({epoch, w});
        if (it == resident_.end()) {
          missing.push_back(w);
        } else {
          it->second.last_seq = seq;
        }
      }
    }
    for (int64_t w : missing) {
      Window win;
      win.last_seq = seq;
      st = load_window(*plan, epoch, w, win);
      if (st.code() == absl::StatusCode::kCancelled) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok()) {
        if (win.buffer) spare_.push_back(std::move(win.buffer));
        break;
      }
      resident_.emplace(std::make_pair(epoch, w), std::move(win));
    }
    Step s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (st.ok()) s = make_step(*plan, epoch, step);
    }
    if (!st.ok()) s.status = st;
    std::unique_lock<std::mutex> lock(mu_);
    const bool failed = !s.status.ok();
    ready_.emplace(seq, std::move(s));
    ready_cv_.notify_all();
    if (failed) return;  // the step's error stays for next() to return
    progress_cv_.wait(lock, [&] { return stopping_ || ready_.size() < kMaxStepsAhead; });
    if (stopping_) return;
  }
}

absl::Status GpuDirectBatches::next(Batch& batch) {
  std::vector<const uint8_t*> records;
  int64_t first_sample = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    CHECK(loader_.joinable()) << "GpuDirectBatches::next() before seek()";
    if (next_seq_ >= options_.epochs * steps_per_epoch())
      return absl::OutOfRangeError(
          absl::StrCat("the data stream ended after epoch ", options_.epochs, " (train.epochs)"));
    ready_cv_.wait(lock, [&] { return ready_.count(next_seq_) > 0; });
    Step& s = ready_.at(next_seq_);
    if (!s.status.ok()) return s.status;  // stays: every later call fails alike
    records.swap(s.records);
    first_sample = s.first_sample;
    for (const std::string& where : s.skipped)  // counted when its step is taken, as the host loader does
      if (skipped_.fetch_add(1) < kLoggedSkips)
        LOG(WARNING) << where << " fails its CRC32C check (corrupt data); skipped (storage.on_corrupt: skip)";
  }
  // The windows this step reads stay resident until next_seq_ passes it (below).
  const int64_t rows = static_cast<int64_t>(records.size());
  batch = Batch::allocate(sample_fields(*shards_), rows, device_memory_, io_->device());
  absl::Status st = io_->decode_records(nullptr, records.data(), rows, layout_, batch["x"].raw(), batch["y"].raw());
  absl::StatusOr<DeviceIo::Marker> decoded = st.ok() ? io_->mark_compute() : absl::StatusOr<DeviceIo::Marker>(st);
  std::lock_guard<std::mutex> lock(mu_);
  if (!decoded.ok()) {
    ready_.at(next_seq_).status = decoded.status();  // stays, like the loader's errors
    return decoded.status();
  }
  decoded_ = std::move(*decoded);
  batch.set_first_sample(first_sample);
  ready_.erase(next_seq_++);
  progress_cv_.notify_all();
  return absl::OkStatus();
}

}  // namespace ty
