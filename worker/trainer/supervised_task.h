// SupervisedTask: inputs to outputs, scored against labels (classification: cross entropy,
// or MSE / BCE against one-hot targets) or values (regression: MSE).
#pragma once

#include "worker/job/spec.h"
#include "worker/trainer/task.h"

namespace ty {

class SupervisedTask final : public Task {
 public:
  // `classes` > 0: class labels (i32); 0: regression targets. `loss` auto picks cross
  // entropy for labels and MSE for values.
  SupervisedTask(LossKind loss, int64_t classes, float label_smoothing);

  // Fields x (inputs) and y (labels or targets).
  Vars inputs(const Batch& batch) override { return {Var(batch["x"])}; }
  Var loss_of(Context& ctx, const Vars& outputs, const Batch& batch) override;
  void measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) override;
  MetricsAccumulator new_metrics() const override { return MetricsAccumulator(classes_); }

 private:
  // outputs: (N, K); targets: i32 (N) labels or (N, K) values -> scalar mean loss.
  Var loss_from(Context& ctx, const Var& outputs, const Tensor& targets);
  LossKind loss_;
  int64_t classes_;
  float label_smoothing_;
};

}  // namespace ty
