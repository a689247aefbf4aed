// A Dataset over shards (a list of files or a glob): field "x" holds the features (u8,
// scaled to [0, 1], or f32) and field "y" the target (i32 class label, or f32 values); or
// token records, i32 ids and next tokens.
// Records are read and checked once, into memory (the held-out test set, validation splits
// and subsets); storage/stream/ streams training shards instead.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/dataset.h"
#include "storage/shard/shard_schema.h"

namespace ty {

struct ShardOpenOptions {
  bool skip_corrupt = false;  // storage.on_corrupt: skip (else the first bad record fails)
};

// The fields of a training shard: "x" (u8 or f32 features) and "y" (one i32 class label
// or f32 targets), or token records: "x" i32 token ids and "y" i32 next tokens of the same
// shape (data import text); and where they sit in a record.
struct TrainingFields {
  ShardField x, y;
  int64_t x_offset = 0, y_offset = 0;  // bytes into a record
  bool operator==(const TrainingFields&) const = default;
  bool tokens() const { return x.dtype == DType::kI32; }
  // i32 values per record that must lie in [0, classes): the labels, and token records' ids.
  int64_t label_count() const { return shape_numel(y.dims); }
};
// Checks that `schema` (of the shard at `path`) holds usable training fields.
absl::StatusOr<TrainingFields> training_fields(const std::string& path, const ShardSchema& schema);

// Class labels: one i32 in [0, kMaxShardClasses) per record; `label_in_range` says which
// record of which file holds one outside.
constexpr int64_t kMaxShardClasses = int64_t{1} << 20;
absl::Status label_in_range(const std::string& where, int32_t label, int64_t record);

// The vocabulary of token shards at `shard_path` (PREFIX-00000.tyshard or
// PREFIX-train-00000.tyshard, -val-, -test-): PREFIX.vocab, which data import text writes
// beside them; and its size (its lines; 0 when there is no such file).
std::string token_vocab_path(const std::string& shard_path);
int64_t token_vocab_size(const std::string& shard_path);
// Token pairs with two vocabularies (data import parallel --separate-vocab): the source
// side's, PREFIX.source.vocab beside PREFIX.vocab (which is then the target's); "" for one
// joint vocabulary (no such file, or an empty one). Its size: that file's lines, or token_vocab_size's for a joint one.
std::string source_vocab_path(const std::string& shard_path);
int64_t source_vocab_size(const std::string& shard_path);
// Removes OUT_PREFIX.source.vocab and .model (an earlier pair import's), if there.
void remove_source_vocabulary(const std::string& out_prefix);

// Paths matching `pattern` (glob(3); a plain path matches itself), sorted; an error when
// nothing matches.
absl::StatusOr<std::vector<std::string>> expand_glob(const std::string& pattern);

class ShardDataset final : public Dataset {
 public:
  static absl::StatusOr<DatasetPtr> open(const std::vector<std::string>& paths, ShardOpenOptions options = {});
  int64_t size() const override { return size_; }
  Shape sample_shape() const override { return x_.dims; }
  int64_t num_classes() const override { return classes_; }
  int64_t target_width() const override { return classes_ > 0 ? 0 : shape_numel(y_.dims); }
  DType input_dtype() const override { return x_.dtype == DType::kI32 ? DType::kI32 : DType::kF32; }
  Shape label_shape() const override { return x_.dtype == DType::kI32 ? y_.dims : Shape{}; }
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;
  int64_t skipped_records() const override { return skipped_; }

 private:
  ShardDataset() = default;
  std::string name_;
  ShardField x_, y_;
  int64_t size_ = 0, classes_ = 0, skipped_ = 0;
  std::vector<char> xs_, ys_;
};

}  // namespace ty
