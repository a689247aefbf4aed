#include "models/metrics.h"

#include <cmath>

#include "glog/logging.h"

namespace ty {

void MetricsAccumulator::add(const Tensor& outputs_in, const Tensor& targets_in, double batch_loss) {
  // Counted on the host: device tensors are copied over once per batch.
  const Tensor outputs = outputs_in.host(), targets = targets_in.host();
  const int64_t n = outputs.dim(0);
  if (classes_ > 0) {
    const int32_t* L = targets.data<int32_t>();
    const int64_t c = outputs.dim(1);
    const Tensor logits = outputs.dtype() == DType::kF32 ? outputs : outputs.to(DType::kF32);
    const float* O = logits.data<float>();
    int64_t labelled = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (L[i] < 0) continue;  // the ignore label
      ++labelled;
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (O[i * c + j] > O[i * c + best]) best = j;
      if (best == L[i]) ++correct_;
      if (has_confusion() && L[i] < classes_ && best < classes_) ++confusion_[L[i] * classes_ + best];
    }
    loss_sum_ += batch_loss * labelled;
    count_ += labelled;
  } else {
    loss_sum_ += batch_loss * n;
    count_ += n;
    for (int64_t i = 0, m = outputs.numel(); i < m; ++i) {
      const double d = outputs.at(i) - targets.at(i);
      sq_sum_ += d * d;
    }
    values_ += outputs.numel();
  }
}

double MetricsAccumulator::perplexity() const { return std::exp(loss()); }

std::vector<std::vector<int64_t>> MetricsAccumulator::confusion() const {
  if (!has_confusion()) return {};
  std::vector<std::vector<int64_t>> m(classes_, std::vector<int64_t>(classes_));
  for (int64_t i = 0; i < classes_; ++i)
    for (int64_t j = 0; j < classes_; ++j) m[i][j] = confusion_[i * classes_ + j];
  return m;
}

std::vector<double> MetricsAccumulator::pack() const {
  std::vector<double> v{double(count_), double(correct_), double(values_), loss_sum_, sq_sum_};
  for (int64_t c : confusion_) v.push_back(double(c));
  return v;
}

void MetricsAccumulator::unpack(const std::vector<double>& v) {
  CHECK_EQ(v.size(), 5 + confusion_.size());
  count_ = static_cast<int64_t>(v[0]);
  correct_ = static_cast<int64_t>(v[1]);
  values_ = static_cast<int64_t>(v[2]);
  loss_sum_ = v[3];
  sq_sum_ = v[4];
  for (size_t i = 0; i < confusion_.size(); ++i) confusion_[i] = static_cast<int64_t>(v[5 + i]);
}

}  // namespace ty
