#include "models/metrics.h"

namespace ty {

void MetricsAccumulator::add(const Tensor& outputs, const Tensor& targets, double batch_loss) {
  const int64_t n = outputs.dim(0);
  loss_sum_ += batch_loss * n;
  count_ += n;
  if (classes_ > 0) {
    const int32_t* L = targets.data<int32_t>();
    const int64_t c = outputs.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (outputs.at(i * c + j) > outputs.at(i * c + best)) best = j;
      if (best == L[i]) ++correct_;
      if (L[i] >= 0 && L[i] < classes_ && best < classes_) ++confusion_[L[i] * classes_ + best];
    }
  } else {
    for (int64_t i = 0, m = outputs.numel(); i < m; ++i) {
      const double d = outputs.at(i) - targets.at(i);
      sq_sum_ += d * d;
    }
    values_ += outputs.numel();
  }
}

std::vector<std::vector<int64_t>> MetricsAccumulator::confusion() const {
  std::vector<std::vector<int64_t>> m(classes_, std::vector<int64_t>(classes_));
  for (int64_t i = 0; i < classes_; ++i)
    for (int64_t j = 0; j < classes_; ++j) m[i][j] = confusion_[i * classes_ + j];
  return m;
}

}  // namespace ty
