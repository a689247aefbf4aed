#include "storage/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/batch.h"

namespace ty {

InMemoryDataset::InMemoryDataset(std::string name, Shape sample_shape, std::vector<float> features,
                                 std::vector<int32_t> labels, int64_t classes)
    : name_(std::move(name)),
      sample_shape_(std::move(sample_shape)),
      sample_numel_(shape_numel(sample_shape_)),
      size_(static_cast<int64_t>(labels.size())),
      features_(std::move(features)),
      labels_(std::move(labels)),
      classes_(classes) {
  CHECK_EQ(static_cast<int64_t>(features_.size()), size_ * sample_numel_);
}

InMemoryDataset::InMemoryDataset(std::string name, Shape sample_shape, std::vector<float> features,
                                 std::vector<float> targets, int64_t target_width)
    : name_(std::move(name)),
      sample_shape_(std::move(sample_shape)),
      sample_numel_(shape_numel(sample_shape_)),
      size_(static_cast<int64_t>(targets.size()) / std::max<int64_t>(target_width, 1)),
      features_(std::move(features)),
      targets_(std::move(targets)),
      target_width_(target_width) {
  CHECK_EQ(static_cast<int64_t>(features_.size()), size_ * sample_numel_);
}

void InMemoryDataset::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  float* X = x.data<float>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t s = indices[i];
    DCHECK(s >= 0 && s < size_);
    std::memcpy(X + i * sample_numel_, features_.data() + s * sample_numel_, sample_numel_ * sizeof(float));
    if (classes_ > 0) {
      y.data<int32_t>()[i] = labels_[s];
    } else {
      std::memcpy(y.data<float>() + i * target_width_, targets_.data() + s * target_width_,
                  target_width_ * sizeof(float));
    }
  }
}

std::string InMemoryDataset::describe() const {
  return absl::StrCat(
      name_, ": ", size_, " samples of ", shape_str(sample_shape_),
      classes_ > 0 ? absl::StrCat(", ", classes_, " classes") : absl::StrCat(", ", target_width_, " targets"));
}

SubsetDataset::SubsetDataset(DatasetPtr base, std::vector<int64_t> indices, std::string name)
    : DerivedDataset(std::move(base)), indices_(std::move(indices)), name_(std::move(name)) {}

void SubsetDataset::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  std::vector<int64_t> mapped(count);
  for (int64_t i = 0; i < count; ++i) mapped[i] = indices_[indices[i]];
  base_->gather(mapped.data(), count, x, y);
}

std::string SubsetDataset::describe() const {
  return absl::StrCat(name_, ": ", indices_.size(), " samples of ", base_->describe());
}

void StandardizedDataset::gather(const int64_t* indices, int64_t count, Tensor& x, Tensor& y) const {
  base_->gather(indices, count, x, y);
  float* X = x.data<float>();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) X[i] = (X[i] - mean_) * inv_std_;
}

std::string StandardizedDataset::describe() const {
  return absl::StrCat(base_->describe(), ", standardized (mean ", mean_, ", std ", 1.f / inv_std_, ")");
}

absl::StatusOr<std::pair<double, double>> feature_moments(const Dataset& data, int64_t max_samples, bool skip_corrupt) {
  const int64_t n = std::min(data.size(), max_samples);
  if (n == 0) return std::make_pair(0.0, 1.0);
  auto samples = [&](int64_t count) {
    Batch b = Batch::allocate(sample_fields(data), count);
    return std::make_pair(b["x"], b["y"]);
  };
  std::vector<int64_t> idx(n);
  for (int64_t i = 0; i < n; ++i) idx[i] = i * data.size() / n;
  auto [x, y] = samples(n);
  absl::Status st = data.read(idx.data(), n, x, y);
  if (st.ok()) return tensor_moments(x);
  if (!skip_corrupt || st.code() != absl::StatusCode::kDataLoss) return st;
  // One by one, leaving the corrupt ones out.
  const int64_t row = shape_numel(data.sample_shape());
  std::vector<float> good;
  auto [x1, y1] = samples(1);
  for (int64_t i : idx)
    if (data.read(&i, 1, x1, y1).ok()) good.insert(good.end(), x1.data<float>(), x1.data<float>() + row);
  Tensor all = Tensor::empty(host_memory(), {static_cast<int64_t>(good.size())});
  std::copy(good.begin(), good.end(), all.data<float>());
  return tensor_moments(all);
}

std::pair<double, double> tensor_moments(const Tensor& x) {
  if (x.numel() == 0) return {0.0, 1.0};
  double s = 0, s2 = 0;
  const float* X = x.data<float>();
  for (int64_t i = 0, m = x.numel(); i < m; ++i) {
    s += X[i];
    s2 += double(X[i]) * X[i];
  }
  const double mean = s / x.numel();
  const double var = std::max(s2 / x.numel() - mean * mean, 0.0);
  return {mean, var > 1e-12 ? std::sqrt(var) : 1.0};
}

}  // namespace ty
