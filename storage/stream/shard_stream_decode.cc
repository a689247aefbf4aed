// Decoding one step's records into a batch, outside the stream's lock.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "storage/stream/shard_stream_parts.h"
#include "storage/stream/sigbus_guard.h"

namespace ty {
namespace {
constexpr int kLoggedSkips = 10;
}  // namespace

ShardStream::Assembled ShardStream::decode(const Parts& parts, int64_t epoch, int64_t step) {
  Assembled b;
  int64_t good = 0;
  for (auto& [load, slot] : parts) {
    if (!load->error.ok()) {
      b.status = load->error;
      break;
    }
    good += load->bad[slot] ? 0 : 1;
  }
  if (b.status.ok() && good == 0)
    b.status = absl::DataLossError(
        absl::StrCat("every record of step ", step, " of epoch ", epoch, " on rank ", options_.rank, " is corrupt"));
  for (auto& [load, slot] : parts) {
    if (!b.status.ok() || !load->bad[slot]) continue;
    const RecordRef ref = load->refs[slot];
    if (skipped_.fetch_add(1) < kLoggedSkips)
      LOG(WARNING) << shards_->reader(ref.shard).path() << ": record " << ref.record << " at byte offset "
                   << shards_->reader(ref.shard).record_offset(ref.record)
                   << " fails its CRC32C check (corrupt data); skipped (storage.on_corrupt: skip)";
  }
  if (b.status.ok()) {
    const int64_t payload = shards_->payload_bytes(), yb = shards_->fields().y.bytes();
    const int64_t xb = shape_numel(shards_->sample_shape()) * 4;  // f32 features or i32 ids
    try {  // on an assembler thread: an allocation past the host budget becomes this batch's error
      if (options_.raw_records) {
        b.x = Tensor::empty(batch_memory_, {good, payload}, DType::kU8);
      } else {
        Batch fresh = Batch::allocate(sample_fields(*shards_), good, batch_memory_);
        b.x = fresh["x"];
        b.y = fresh["y"];
      }
    } catch (const OutOfMemory& e) {
      b.status = absl::ResourceExhaustedError(
          absl::StrCat("out of memory for step ", step, "'s batch: ", e.what(), "; lower data.batch_size"));
      return b;
    }
    // Touches the records (mapped memory, maybe): plain loops, no objects to destroy.
    auto fill = [&] {
      const float inv_std = 1.f / options_.std;
      int64_t i = 0;
      for (auto& [load, slot] : parts) {
        if (load->bad[slot]) continue;
        if (options_.raw_records) {
          std::memcpy(b.x.data<uint8_t>() + i++ * payload, load->records[slot], static_cast<size_t>(payload));
          continue;
        }
        char* x = static_cast<char*>(b.x.raw()) + i * xb;
        char* y = static_cast<char*>(b.y.raw()) + i * yb;
        if (options_.standardize) {  // decoded and standardized in one pass
          shards_->decode_scaled(load->records[slot], reinterpret_cast<float*>(x), y, inv_std,
                                 -options_.mean * inv_std);
        } else {
          shards_->decode_unchecked(load->records[slot], x, y);
        }
        ++i;
      }
    };
    if (!any_mapped_) {
      fill();
    } else if (!run_guarded(fill)) {
      b.status = absl::DataLossError(absl::StrCat("a mapped shard shrank while step ", step, " of epoch ", epoch,
                                                  " was read (SIGBUS); was a shard changed during the run?"));
    }
    int64_t i = 0;  // labels, checked where the batch now holds them
    const TrainingFields& f = shards_->fields();
    for (auto& [load, slot] : parts) {
      if (!b.status.ok() || shards_->num_classes() == 0) break;
      if (load->bad[slot]) continue;
      const RecordRef ref = load->refs[slot];
      const char* row = static_cast<const char*>(b.x.raw()) + i * (options_.raw_records ? payload : xb);
      b.status = options_.raw_records
                     ? shards_->check_labels(row + f.x_offset, row + f.y_offset, ref.shard, ref.record)
                     : shards_->check_labels(row, static_cast<const char*>(b.y.raw()) + i * yb, ref.shard, ref.record);
      ++i;
    }
  }
  return b;
}

}  // namespace ty
