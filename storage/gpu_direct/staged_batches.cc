#include "storage/gpu_direct/staged_batches.h"

#include "runtime/status.h"

namespace ty {

StagedDeviceBatches::StagedDeviceBatches(std::unique_ptr<ShardStream> records, std::shared_ptr<DeviceIo> io,
                                         RecordLayout layout, std::vector<FieldSpec> fields,
                                         std::shared_ptr<Allocator> device_memory, int depth)
    : records_(std::move(records)),
      io_(std::move(io)),
      layout_(layout),
      fields_(std::move(fields)),
      device_memory_(std::move(device_memory)),
      depth_(std::max(1, depth)) {}

StagedDeviceBatches::~StagedDeviceBatches() { drain(); }

void StagedDeviceBatches::drain() {
  for (Ahead& a : ahead_) {
    (void)io_->wait(a.copied);
    if (a.staged) free_.push_back({a.staged, a.bytes, nullptr});
  }
  ahead_.clear();
  for (Buffer& b : free_) {
    (void)io_->wait(b.read);
    io_->free_device(b.device);
  }
  free_.clear();
  for (auto& [raw, copied] : retiring_) (void)io_->wait(copied);
  retiring_.clear();
}

absl::Status StagedDeviceBatches::seek(int64_t epoch, int64_t step) {
  drain();
  ended_ = false;
  return records_->seek(epoch, step);
}

absl::StatusOr<StagedDeviceBatches::Buffer> StagedDeviceBatches::staging_buffer(size_t bytes) {
  // The oldest free buffer once its decode has run (waited for when depth_ + 1 are out),
  // else a new one.
  if (!free_.empty() && (io_->reached(free_.front().read) || free_.size() > static_cast<size_t>(depth_))) {
    Buffer b = std::move(free_.front());
    free_.pop_front();
    TY_RETURN_IF_ERROR(io_->wait(b.read));
    if (b.bytes >= bytes) return b;
    io_->free_device(b.device);
  }
  Buffer b;
  TY_ASSIGN_OR_RETURN(b.device, io_->alloc_device(bytes));
  b.bytes = bytes;
  return b;
}

void StagedDeviceBatches::fill_ahead() {
  while (!retiring_.empty() && io_->reached(retiring_.front().second)) retiring_.pop_front();
  while (!ended_ && ahead_.size() < static_cast<size_t>(depth_)) {
    // Every step the stream gives goes into ahead_, its error with it: none is dropped, and
    // an error stays in its place in the order.
    ahead_.emplace_back();
    Ahead& a = ahead_.back();
    Batch raw;
    a.status = records_->next(raw);
    if (a.status.ok()) {
      a.raw = raw["x"];
      a.first_sample = raw.first_sample();
      const size_t bytes = static_cast<size_t>(a.raw.numel());
      absl::StatusOr<Buffer> b = staging_buffer(bytes);
      a.status = b.status();
      if (b.ok()) {
        a.staged = b->device;  // (drain() frees it, whatever happens next)
        a.bytes = b->bytes;
        a.status = io_->copy_to_device(a.staged, a.raw.raw(), bytes);
      }
      if (a.status.ok()) {
        absl::StatusOr<DeviceIo::Marker> copied = io_->mark_copies();
        a.status = copied.status();
        if (copied.ok()) a.copied = std::move(*copied);
      }
    }
    if (!a.status.ok()) ended_ = true;
  }
}

absl::Status StagedDeviceBatches::next(Batch& batch) {
  fill_ahead();
  if (!ahead_.front().status.ok()) return ahead_.front().status;  // stays: every later call fails alike
  Ahead a = std::move(ahead_.front());
  ahead_.pop_front();
  const int64_t rows = a.raw.shape()[0];
  std::vector<const uint8_t*> records(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) records[i] = static_cast<const uint8_t*>(a.staged) + i * layout_.payload_bytes;
  batch = Batch::allocate(fields_, rows, device_memory_, io_->device());
  // The staging buffer and the host rows are released once the device is done with them,
  // whatever the decode's outcome (a failed one waits for the device in drain()).
  absl::Status st =
      io_->decode_records(a.copied, records.data(), rows, layout_, batch["x"].raw(), batch["y"].raw());
  absl::StatusOr<DeviceIo::Marker> decoded = st.ok() ? io_->mark_compute() : absl::StatusOr<DeviceIo::Marker>(st);
  retiring_.emplace_back(std::move(a.raw), std::move(a.copied));
  if (!decoded.ok()) {
    (void)io_->wait(retiring_.back().second);
    free_.push_back({a.staged, a.bytes, nullptr});
    Ahead failed;  // stays: every later call fails alike
    failed.status = decoded.status();
    ahead_.push_front(std::move(failed));
    return decoded.status();
  }
  free_.push_back({a.staged, a.bytes, std::move(*decoded)});
  batch.set_first_sample(a.first_sample);
  fill_ahead();  // the next steps' copies run while this one computes (an error shows at its step)
  return absl::OkStatus();
}

}  // namespace ty
