// Dataset: where training samples come from, by sample index: IDX and CSV files and shards
// read into memory hide behind this interface (streamed shards are a BatchSource instead,
// storage/stream/). A sample is one f32 feature tensor and one label or target vector.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace ty {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Per-sample feature shape: (D) or (C, H, W).
  virtual Shape sample_shape() const = 0;
  // Classes of the labels, or 0 for regression targets.
  virtual int64_t num_classes() const = 0;
  // Per-sample target width for regression (1 for one target column); 0 for labels.
  virtual int64_t target_width() const = 0;
  // The features' dtype: f32, or i32 token ids (token records, whose labels are the next
  // tokens: one per position, label_shape() = sample_shape()).
  virtual DType input_dtype() const { return DType::kF32; }
  // Per-sample shape of i32 labels: () for one class label, (L) for token records.
  virtual Shape label_shape() const { return {}; }
  // x: input_dtype (count, sample_shape...); y: i32 (count, label_shape...) labels or
  // f32 (count, target_width).
  virtual void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const = 0;
  // gather() with an error instead of a failed process, for sources that read files on
  // demand (ShardSet); in-memory sources cannot fail.
  virtual absl::Status read(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
    gather(indices, count, x, y);
    return absl::OkStatus();
  }
  virtual std::string describe() const = 0;
  // Records left out because they were corrupt (storage.on_corrupt: skip).
  virtual int64_t skipped_records() const { return 0; }
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// Samples held in memory as f32 features and i32 labels or f32 targets.
class InMemoryDataset final : public Dataset {
 public:
  InMemoryDataset(std::string name, Shape sample_shape, std::vector<float> features, std::vector<int32_t> labels,
                  int64_t classes);
  InMemoryDataset(std::string name, Shape sample_shape, std::vector<float> features, std::vector<float> targets,
                  int64_t target_width);
  int64_t size() const override { return size_; }
  Shape sample_shape() const override { return sample_shape_; }
  int64_t num_classes() const override { return classes_; }
  int64_t target_width() const override { return target_width_; }
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;

 private:
  std::string name_;
  Shape sample_shape_;
  int64_t sample_numel_;
  int64_t size_;
  std::vector<float> features_;
  std::vector<int32_t> labels_;
  std::vector<float> targets_;
  int64_t classes_ = 0;
  int64_t target_width_ = 0;
};

// A dataset derived from another one: same shapes and classes, different samples or values.
class DerivedDataset : public Dataset {
 public:
  explicit DerivedDataset(DatasetPtr base) : base_(std::move(base)) {}
  int64_t size() const override { return base_->size(); }
  Shape sample_shape() const override { return base_->sample_shape(); }
  int64_t num_classes() const override { return base_->num_classes(); }
  int64_t target_width() const override { return base_->target_width(); }
  DType input_dtype() const override { return base_->input_dtype(); }
  Shape label_shape() const override { return base_->label_shape(); }
  int64_t skipped_records() const override { return base_->skipped_records(); }

 protected:
  DatasetPtr base_;
};

// A view of some samples of another dataset (validation splits, subsets).
class SubsetDataset final : public DerivedDataset {
 public:
  SubsetDataset(DatasetPtr base, std::vector<int64_t> indices, std::string name);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;

 private:
  std::vector<int64_t> indices_;
  std::string name_;
};

// Another dataset with every feature mapped to (x - mean) / std (standardization by
// statistics of the training set).
class StandardizedDataset final : public DerivedDataset {
 public:
  StandardizedDataset(DatasetPtr base, float mean, float std)
      : DerivedDataset(std::move(base)), mean_(mean), inv_std_(1.f / std) {}
  void gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const override;
  std::string describe() const override;

 private:
  float mean_, inv_std_;
};

// Mean and standard deviation of all features of up to `max_samples` samples.
// The samples are spread evenly over the dataset; with `skip_corrupt` the ones whose read
// fails as corrupt (DataLoss) are left out.
absl::StatusOr<std::pair<double, double>> feature_moments(const Dataset& data, int64_t max_samples = 10000,
                                                          bool skip_corrupt = false);
// Mean and standard deviation (1 when the values are constant) of an f32 tensor.
std::pair<double, double> tensor_moments(const Tensor& x);

}  // namespace ty
