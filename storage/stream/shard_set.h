// ShardSet: the shards of a training set, opened (headers and indexes checked) but not
// read into memory; the ShardStream loader reads their records. As a Dataset it answers
// sizes and shapes, and gather() reads records one by one (random access: right for a
// few thousand samples, such as the standardization statistics; training streams).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/dataset.h"
#include "storage/shard/shard_dataset.h"
#include "storage/shard/shard_reader.h"

namespace ty {

struct ShardSetOptions {
  // Class count of i32 labels; 0: the largest label + 1 (token records: the vocabulary
  // file's size where there is one), found by reading every label once at open
  // (data.num_classes skips that pass).
  int64_t classes = 0;
  bool skip_corrupt = false;  // the label pass skips corrupt records instead of failing
};

class ShardSet final : public Dataset {
 public:
  static absl::StatusOr<std::shared_ptr<ShardSet>> open(const std::vector<std::string>& paths,
                                                        ShardSetOptions options = {});

  int shards() const { return static_cast<int>(readers_.size()); }
  const ShardReader& reader(int shard) const { return readers_[shard]; }
  std::vector<int64_t> record_counts() const;
  const TrainingFields& fields() const { return fields_; }
  int64_t payload_bytes() const { return payload_; }
  // Record number `record` of shard `shard` in file order over all shards.
  int64_t global_record(int shard, int64_t record) const { return starts_[shard] + record; }

  // Decodes one record's payload (CRC already checked) into a feature row of
  // prod(x dims) floats (u8 scaled to [0, 1]) or i32 token ids, and a target row (i32
  // labels, checked against the class count, or f32 values). Errors name the file and
  // record.
  absl::Status decode(const char* payload, int shard, int64_t record, void* x, char* y) const;
  // decode() without the label check (no allocation, nothing to destroy: safe to run under
  // run_guarded()), and the check on its own.
  void decode_unchecked(const char* payload, void* x, char* y) const;
  // The same with features mapped to x * scale + shift in the one pass (standardization:
  // scale = 1 / std, shift = -mean / std, u8 pixels scaled to [0, 1] first; not tokens).
  void decode_scaled(const char* payload, float* x, char* y, float scale, float shift) const;
  // A decoded record's labels (and token ids) against the class count (the vocabulary).
  absl::Status check_labels(const void* x, const char* y, int shard, int64_t record) const;

  int64_t size() const override { return total_; }
  Shape sample_shape() const override { return fields_.x.dims; }
  int64_t num_classes() const override { return classes_; }
  int64_t target_width() const override { return classes_ > 0 ? 0 : shape_numel(fields_.y.dims); }
  DType input_dtype() const override { return fields_.tokens() ? DType::kI32 : DType::kF32; }
  Shape label_shape() const override { return fields_.tokens() ? fields_.y.dims : Shape{}; }
  // A corrupt record is an error here, whatever storage.on_corrupt says.
  absl::Status read(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  // Fails the process on a read error: use read() where that can happen.
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;

 private:
  ShardSet() = default;
  // The largest label (token records: and source id, unless the sources have a vocabulary
  // of their own) + 1.
  absl::StatusOr<int64_t> scan_classes(bool skip_corrupt, bool with_sources) const;
  std::string name_;
  std::vector<ShardReader> readers_;
  std::vector<int64_t> starts_;  // first global record of each shard
  TrainingFields fields_;
  int64_t payload_ = 0, total_ = 0, classes_ = 0;
  int64_t source_classes_ = 0;  // token records: the bound of the source ids (classes_ for one vocabulary)
  std::string source_vocab_;    // token pairs: the source side's own vocabulary, or ""
};

}  // namespace ty
