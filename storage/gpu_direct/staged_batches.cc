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

absl::Status StagedDeviceBatches::fill_ahead() {
  while (!retiring_.empty() && io_->reached(retiring_.front().second)) retiring_.pop_front();
  while (!ended_ && ahead_.size() < static_cast<size_t>(depth_)) {
    Ahead a;
    Batch raw;
    a.status = records_->next(raw);
    if (!a.status.ok()) {
      ended_ = true;
      ahead_.push_back(std::move(a));
      break;
    }
    a.raw = raw["x"];
    a.first_sample = raw.first_sample();
    a.bytes = static_cast<size_t>(a.raw.numel());
    TY_ASSIGN_OR_RETURN(Buffer b, staging_buffer(a.bytes));
    a.staged = b.device;
    a.bytes = b.bytes;
    TY_RETURN_IF_ERROR(io_->copy_to_device(a.staged, a.raw.raw(), static_cast<size_t>(a.raw.numel())));
    TY_ASSIGN_OR_RETURN(a.copied, io_->mark_copies());
    ahead_.push_back(std::move(a));
  }
  return absl::OkStatus();
}

absl::Status StagedDeviceBatches::next(Batch& batch) {
  TY_RETURN_IF_ERROR(fill_ahead());
  Ahead a = std::move(ahead_.front());
  ahead_.pop_front();
  if (!a.status.ok()) {
    ahead_.push_front(a);  // stays: every later call fails alike
    return a.status;
  }
  const int64_t rows = a.raw.shape()[0];
  std::vector<const uint8_t*> records(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) records[i] = static_cast<const uint8_t*>(a.staged) + i * layout_.payload_bytes;
  batch = Batch();
  for (const FieldSpec& f : fields_) {
    Shape shape{rows};
    shape.insert(shape.end(), f.per_sample.begin(), f.per_sample.end());
    batch.set(f.name, Tensor::empty(device_memory_, shape, f.dtype, io_->device()));
  }
  TY_RETURN_IF_ERROR(
      io_->decode_records(a.copied, records.data(), rows, layout_, batch["x"].raw(), batch["y"].raw()));
  TY_ASSIGN_OR_RETURN(DeviceIo::Marker decoded, io_->mark_compute());
  free_.push_back({a.staged, a.bytes, std::move(decoded)});
  retiring_.emplace_back(std::move(a.raw), std::move(a.copied));
  batch.set_first_sample(a.first_sample);
  return fill_ahead();  // the next steps' copies run while this one computes
}

}  // namespace ty
