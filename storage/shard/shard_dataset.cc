#include "storage/shard/shard_dataset.h"

#include <glob.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/s3/s3_object.h"
#include "storage/shard/shard_reader.h"

namespace ty {

absl::StatusOr<std::vector<std::string>> expand_glob(const std::string& pattern) {
  if (is_s3_url(pattern)) return expand_s3_glob(pattern);
  glob_t g;
  std::memset(&g, 0, sizeof g);
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (out.empty()) return absl::NotFoundError(absl::StrCat(pattern, ": no file matches"));
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status label_in_range(const std::string& where, int32_t label, int64_t record) {
  if (label >= 0 && label < kMaxShardClasses) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": label ", label, " of record ", record, " outside [0, ", kMaxShardClasses, ")"));
}

std::string token_vocab_path(const std::string& shard_path) {
  std::string prefix = shard_path;
  if (absl::EndsWith(prefix, ".tyshard")) prefix.resize(prefix.size() - 8);
  const size_t dash = prefix.rfind('-');
  if (dash != std::string::npos) prefix.resize(dash);
  // An import's own prefix may end in -test too: the file that exists wins.
  if (std::filesystem::exists(prefix + ".vocab")) return prefix + ".vocab";
  for (const char* split : {"-train", "-val", "-test"})
    if (absl::EndsWith(prefix, split)) {
      prefix.resize(prefix.size() - std::strlen(split));
      break;
    }
  return prefix + ".vocab";
}

namespace {

int64_t lines_of(const std::string& path) {
  std::ifstream in(path);
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

}  // namespace

int64_t token_vocab_size(const std::string& shard_path) { return lines_of(token_vocab_path(shard_path)); }

std::string source_vocab_path(const std::string& shard_path) {
  std::string path = token_vocab_path(shard_path);
  path.insert(path.size() - std::strlen(".vocab"), ".source");
  return lines_of(path) > 0 ? path : "";
}

void remove_source_vocabulary(const std::string& out_prefix) {
  std::error_code ec;
  for (const char* ext : {".source.vocab", ".source.model"}) std::filesystem::remove(out_prefix + ext, ec);
}

int64_t source_vocab_size(const std::string& shard_path) {
  const std::string source = source_vocab_path(shard_path);
  return source.empty() ? token_vocab_size(shard_path) : lines_of(source);
}

absl::StatusOr<TrainingFields> training_fields(const std::string& path, const ShardSchema& s) {
  const int xi = s.field_index("x"), yi = s.field_index("y");
  if (xi < 0 || yi < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": shard fields are {", s.describe(), "}; training data needs fields 'x' and 'y'"));
  TrainingFields f{s.fields[xi], s.fields[yi], s.field_offset(xi), s.field_offset(yi)};
  if (f.x.dtype == DType::kI32) {  // token records
    if (!(f.y.dtype == DType::kI32 && f.y.dims == f.x.dims && f.x.dims.size() == 1))
      return absl::InvalidArgumentError(absl::StrCat(path, ": fields {", s.describe(),
                                                     "}: token ids 'x' (i32 (L)) need next tokens 'y' of the same "
                                                     "shape"));
    return f;
  }
  if (f.x.dtype != DType::kU8 && f.x.dtype != DType::kF32)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field 'x' is ", dtype_name(f.x.dtype), "; u8, f32 or i32 (token ids) needed"));
  if (f.y.dtype != DType::kI32 && f.y.dtype != DType::kF32)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field 'y' is ", dtype_name(f.y.dtype), "; i32 or f32 needed"));
  if (f.y.dtype == DType::kI32 && shape_numel(f.y.dims) != 1)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": field 'y' is i32 ", shape_str(f.y.dims), "; class labels are one i32 per record"));
  if (shape_numel(f.x.dims) < 1 || shape_numel(f.y.dims) < 1)
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty field in {", s.describe(), "}"));
  return f;
}

absl::StatusOr<DatasetPtr> ShardDataset::open(const std::vector<std::string>& paths, ShardOpenOptions options) {
  std::unique_ptr<ShardDataset> d(new ShardDataset());
  d->name_ = paths.size() == 1 ? paths[0] : absl::StrCat(paths[0], " and ", paths.size() - 1, " more shards");
  bool first = true;
  for (const std::string& path : paths) {
    TY_ASSIGN_OR_RETURN(ShardReader r, ShardReader::open(path));
    const ShardSchema& s = r.schema();
    TY_ASSIGN_OR_RETURN(const TrainingFields f, training_fields(path, s));
    if (first) {
      d->x_ = f.x;
      d->y_ = f.y;
      first = false;
    } else if (!(f.x == d->x_) || !(f.y == d->y_)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": schema {", s.describe(), "} differs from ", paths[0]));
    }
    const int64_t xo = f.x_offset, yo = f.y_offset, xb = d->x_.bytes(), yb = d->y_.bytes();
    TY_RETURN_IF_ERROR(r.scan(
        options.skip_corrupt,
        [&](int64_t, const char* p) {
          d->xs_.insert(d->xs_.end(), p + xo, p + xo + xb);
          d->ys_.insert(d->ys_.end(), p + yo, p + yo + yb);
          ++d->size_;
          return absl::OkStatus();
        },
        &d->skipped_));
  }
  if (d->y_.dtype == DType::kI32) {
    // Every label (and token records' every id) in range; the classes from the largest,
    // or token shards' vocabulary. Pairs with a source vocabulary of their own: the
    // sources' ids within it, the classes the targets'.
    int64_t classes = 0;
    const int64_t per = shape_numel(d->y_.dims);
    const bool tokens = d->x_.dtype == DType::kI32;
    const std::string source_vocab = tokens ? source_vocab_path(paths[0]) : "";
    for (const std::vector<char>* v : {&d->ys_, &d->xs_}) {
      if (v == &d->xs_ && !tokens) break;
      const int32_t* ids = reinterpret_cast<const int32_t*>(v->data());
      const int64_t source_size = v == &d->xs_ && !source_vocab.empty() ? source_vocab_size(paths[0]) : 0;
      for (int64_t i = 0; i < d->size_ * per; ++i) {
        TY_RETURN_IF_ERROR(label_in_range(d->name_, ids[i], i / per));
        if (source_size == 0) {
          classes = std::max<int64_t>(classes, int64_t{ids[i]} + 1);
        } else if (ids[i] >= source_size) {
          return absl::InvalidArgumentError(absl::StrCat(d->name_, ": source token ", ids[i], " of record ", i / per,
                                                         " outside [0, ", source_size, ") (", source_vocab, ")"));
        }
      }
    }
    if (tokens) classes = std::max(classes, token_vocab_size(paths[0]));
    d->classes_ = std::max<int64_t>(classes, 1);
  }
  return DatasetPtr(std::move(d));
}

void ShardDataset::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  const int64_t xn = shape_numel(x_.dims), xb = x_.bytes(), yb = y_.bytes();
  float* X = x_.dtype == DType::kI32 ? nullptr : x.data<float>();
  for (int64_t i = 0; i < count; ++i) {
    const char* src = xs_.data() + indices[i] * xb;
    if (x_.dtype == DType::kI32) {
      std::memcpy(static_cast<char*>(x.raw()) + i * xb, src, xb);
    } else if (x_.dtype == DType::kU8) {
      const uint8_t* u = reinterpret_cast<const uint8_t*>(src);
      for (int64_t k = 0; k < xn; ++k) X[i * xn + k] = u[k] * (1.0f / 255.0f);
    } else {
      std::memcpy(X + i * xn, src, xb);
    }
    std::memcpy(static_cast<char*>(y.raw()) + i * yb, ys_.data() + indices[i] * yb, yb);
  }
}

std::string ShardDataset::describe() const {
  return absl::StrCat(name_, ": ", size_, " records of ", shape_str(x_.dims),
                      x_.dtype == DType::kI32 ? absl::StrCat(" tokens, vocabulary ", classes_)
                      : classes_ > 0          ? absl::StrCat(", ", classes_, " classes")
                                              : "",
                      skipped_ > 0 ? absl::StrCat(", ", skipped_, " corrupt records skipped") : "");
}

}  // namespace ty
