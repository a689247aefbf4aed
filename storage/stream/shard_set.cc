#include "storage/stream/shard_set.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runtime/status.h"

namespace ty {
namespace {
// read(): indices of one object closer than this many records are fetched together, up to
// this many bytes a request.
constexpr int64_t kRemoteGap = 256;
constexpr int64_t kRemoteSpan = int64_t{16} << 20;
}  // namespace
absl::StatusOr<std::shared_ptr<ShardSet>> ShardSet::open(const std::vector<std::string>& paths,
                                                         ShardSetOptions options) {
  std::shared_ptr<ShardSet> d(new ShardSet());
  d->name_ = paths.size() == 1 ? paths[0] : absl::StrCat(paths[0], " and ", paths.size() - 1, " more shards");
  for (const std::string& path : paths) {
    TY_ASSIGN_OR_RETURN(ShardReader r, ShardReader::open(path));
    TY_ASSIGN_OR_RETURN(const TrainingFields f, training_fields(path, r.schema()));
    if (d->readers_.empty()) {
      d->fields_ = f;
      d->payload_ = r.schema().payload_bytes();
    } else if (!(f == d->fields_) || r.schema().payload_bytes() != d->payload_) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": schema {", r.schema().describe(), "} differs from ", paths[0]));
    }
    d->starts_.push_back(d->total_);
    d->total_ += r.records();
    d->readers_.push_back(std::move(r));
  }
  if (d->fields_.y.dtype == DType::kI32) {
    if (d->fields_.tokens()) d->source_vocab_ = source_vocab_path(paths[0]);
    if (options.classes > 0) {
      d->classes_ = options.classes;
    } else {
      TY_ASSIGN_OR_RETURN(d->classes_, d->scan_classes(options.skip_corrupt, d->source_vocab_.empty()));
      if (d->fields_.tokens()) d->classes_ = std::max(d->classes_, token_vocab_size(paths[0]));
    }
    d->source_classes_ = d->source_vocab_.empty() ? d->classes_ : source_vocab_size(paths[0]);
  }
  return d;
}

absl::StatusOr<int64_t> ShardSet::scan_classes(bool skip_corrupt, bool with_sources) const {
  int64_t classes = 1;
  for (const ShardReader& r : readers_) {
    TY_RETURN_IF_ERROR(r.scan(skip_corrupt, [&](int64_t record, const char* payload) {
      for (int64_t offset : {fields_.y_offset, fields_.x_offset}) {
        if (offset == fields_.x_offset && !(fields_.tokens() && with_sources)) break;
        for (int64_t k = 0; k < fields_.label_count(); ++k) {
          int32_t label;
          std::memcpy(&label, payload + offset + 4 * k, 4);
          TY_RETURN_IF_ERROR(label_in_range(r.path(), label, record));
          classes = std::max<int64_t>(classes, int64_t{label} + 1);
        }
      }
      return absl::OkStatus();
    }));
  }
  return classes;
}

std::vector<int64_t> ShardSet::record_counts() const {
  std::vector<int64_t> out;
  for (const ShardReader& r : readers_) out.push_back(r.records());
  return out;
}

void ShardSet::decode_unchecked(const char* payload, void* out, char* y) const {
  const int64_t xn = shape_numel(fields_.x.dims);
  const char* src = payload + fields_.x_offset;
  if (fields_.x.dtype == DType::kU8) {
    const uint8_t* __restrict u = reinterpret_cast<const uint8_t*>(src);
    float* __restrict x = static_cast<float*>(out);
    for (int64_t k = 0; k < xn; ++k) x[k] = static_cast<float>(u[k]) * (1.0f / 255.0f);
  } else {  // f32 features, i32 token ids
    std::memcpy(out, src, static_cast<size_t>(fields_.x.bytes()));
  }
  std::memcpy(y, payload + fields_.y_offset, static_cast<size_t>(fields_.y.bytes()));
}

void ShardSet::decode_scaled(const char* payload, float* __restrict x, char* y, float scale, float shift) const {
  const int64_t xn = shape_numel(fields_.x.dims);
  const char* src = payload + fields_.x_offset;
  if (fields_.x.dtype == DType::kU8) {
    const uint8_t* __restrict u = reinterpret_cast<const uint8_t*>(src);
    const float a = scale * (1.0f / 255.0f);
    for (int64_t k = 0; k < xn; ++k) x[k] = static_cast<float>(u[k]) * a + shift;
  } else {
    std::memcpy(x, src, static_cast<size_t>(fields_.x.bytes()));
    for (int64_t k = 0; k < xn; ++k) x[k] = x[k] * scale + shift;
  }
  std::memcpy(y, payload + fields_.y_offset, static_cast<size_t>(fields_.y.bytes()));
}

absl::Status ShardSet::check_labels(const void* x, const char* y, int shard, int64_t record) const {
  if (classes_ == 0) return absl::OkStatus();
  for (const void* ids : {static_cast<const void*>(y), x}) {
    if (ids == x && !fields_.tokens()) break;
    // What the ids are, and what bounds them.
    const bool own_source = ids == x && !source_vocab_.empty();
    const int64_t bound = ids == x ? source_classes_ : classes_;
    const char* what = own_source ? "source token " : fields_.tokens() ? "token " : "label ";
    const char* limit = own_source         ? source_vocab_.c_str()
                        : fields_.tokens() ? "the vocabulary; data.num_classes"
                                           : "data.num_classes";
    for (int64_t k = 0; k < fields_.label_count(); ++k) {
      int32_t label;
      std::memcpy(&label, static_cast<const char*>(ids) + 4 * k, 4);
      if (label < 0 || label >= bound)
        return absl::InvalidArgumentError(absl::StrCat(readers_[shard].path(), ": ", what, label, " of record ", record,
                                                       " (byte offset ", readers_[shard].record_offset(record),
                                                       ") outside [0, ", bound, ") (", limit, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ShardSet::decode(const char* payload, int shard, int64_t record, void* x, char* y) const {
  decode_unchecked(payload, x, y);
  return check_labels(x, y, shard, record);
}

absl::Status ShardSet::read(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  const int64_t xb = fields_.tokens() ? fields_.x.bytes() : shape_numel(fields_.x.dims) * 4, yb = fields_.y.bytes();
  std::vector<char> rec;
  for (int64_t i = 0; i < count;) {
    CHECK(indices[i] >= 0 && indices[i] < total_) << "sample " << indices[i] << " of " << total_;
    const int shard =
        static_cast<int>(std::upper_bound(starts_.begin(), starts_.end(), indices[i]) - starts_.begin()) - 1;
    const ShardReader& reader = readers_[shard];
    // Indices rising in one shard and close together are read in one go: consecutive ones
    // from a file, and from an object (a request each) any within kRemoteGap records, up
    // to kRemoteSpan bytes.
    const int64_t gap = reader.remote() ? kRemoteGap : 1, limit = std::max<int64_t>(1, kRemoteSpan / payload_);
    int64_t j = i + 1;
    while (j < count && indices[j] > indices[j - 1] && indices[j] - indices[j - 1] <= gap &&
           indices[j] < starts_[shard] + reader.records() && indices[j] - indices[i] < limit)
      ++j;
    const int64_t first = indices[i] - starts_[shard], span = indices[j - 1] - indices[i] + 1;
    rec.resize(static_cast<size_t>(span * payload_));
    absl::Status st = reader.read(first, span, rec.data());
    if (st.code() == absl::StatusCode::kDataLoss && j - i > 1) j = i + 1;  // maybe a record not asked for: one alone
    if (!st.ok() && j == i + 1) st = reader.read(first, 1, rec.data());
    TY_RETURN_IF_ERROR(st);
    for (int64_t k = i; k < j; ++k) {
      const int64_t record = indices[k] - starts_[shard];
      TY_RETURN_IF_ERROR(decode(rec.data() + (record - first) * payload_, shard, record,
                                static_cast<char*>(x.raw()) + k * xb, static_cast<char*>(y.raw()) + k * yb));
    }
    i = j;
  }
  return absl::OkStatus();
}

void ShardSet::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  absl::Status st = read(indices, count, x, y);
  CHECK(st.ok()) << st.message();
}

std::string ShardSet::describe() const {
  return absl::StrCat(name_, ": ", total_, " records of ", shape_str(fields_.x.dims),
                      fields_.tokens() ? absl::StrCat(" tokens, vocabulary ", classes_)
                      : classes_ > 0   ? absl::StrCat(", ", classes_, " classes")
                                       : "",
                      ", streamed");
}

}  // namespace ty
