// Evaluation metrics accumulated over batches: mean loss, accuracy and confusion matrix
// (classification), mean squared error (regression); per token for language models
// (perplexity, no confusion matrix).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/tensor.h"

namespace ty {

class MetricsAccumulator {
 public:
  // classes > 0: classification with that many classes; 0: regression.
  // The confusion matrix is kept up to this many classes (a million classes would need 8 TB).
  static constexpr int64_t kMaxConfusionClasses = 1024;
  // `tokens`: a language model's, each row a token position, the classes its vocabulary.
  explicit MetricsAccumulator(int64_t classes, bool tokens = false)
      : classes_(classes),
        tokens_(tokens),
        confusion_(!tokens && classes <= kMaxConfusionClasses ? classes * classes : 0, 0) {}

  // outputs: (N, C) logits or (N, D) predictions; targets: i32 (N) labels or (N, D) values;
  // batch_loss: mean loss over the N samples (over those labelled, where some rows carry
  // the ignore label -1, which count nowhere).
  void add(const Tensor& outputs, const Tensor& targets, double batch_loss);

  // Samples (tokens, for a language model) counted.
  int64_t count() const { return count_; }
  double loss() const { return count_ ? loss_sum_ / count_ : 0; }
  bool tokens() const { return tokens_; }
  double perplexity() const;
  double accuracy() const { return count_ ? double(correct_) / count_ : 0; }
  double mse() const { return values_ ? sq_sum_ / values_ : 0; }
  bool classification() const { return classes_ > 0; }
  int64_t classes() const { return classes_; }
  bool has_confusion() const { return classes_ > 0 && !tokens_ && !confusion_.empty(); }
  // confusion[true][predicted]; empty past kMaxConfusionClasses.
  std::vector<std::vector<int64_t>> confusion() const;

  // All sums as one vector, so that ranks can add theirs up (allreduce) and unpack the
  // global figures.
  std::vector<double> pack() const;
  void unpack(const std::vector<double>& v);

 private:
  int64_t classes_;
  bool tokens_;
  int64_t count_ = 0, correct_ = 0, values_ = 0;
  double loss_sum_ = 0, sq_sum_ = 0;
  std::vector<int64_t> confusion_;
};

}  // namespace ty
