#include "worker/trainer/supervised_task.h"

#include "runtime/ops/ops.h"

namespace ty {

SupervisedTask::SupervisedTask(LossKind loss, int64_t classes, float label_smoothing)
    : loss_(loss == LossKind::kAuto ? (classes > 0 ? LossKind::kCrossEntropy : LossKind::kMse) : loss),
      classes_(classes),
      label_smoothing_(label_smoothing) {}

Var SupervisedTask::loss_from(Context& ctx, const Var& outputs, const Tensor& targets) {
  if (loss_ == LossKind::kCrossEntropy) return ops::cross_entropy(ctx, outputs, targets, label_smoothing_);
  Tensor t = targets;
  if (classes_ > 0) {  // one-hot targets for mse / bce on class labels
    t = ctx.empty({outputs.shape()[0], outputs.shape()[1]}, outputs.dtype());
    ctx.kernels(t.dtype()).pointwise().one_hot(ctx.to_device(targets), t);
  }
  if (loss_ == LossKind::kBceWithLogits) return ops::bce_with_logits(ctx, outputs, t);
  return ops::mse_loss(ctx, outputs, t);
}

Var SupervisedTask::loss_of(Context& ctx, const Vars& outputs, const Batch& batch) {
  CHECK_EQ(outputs.size(), 1u) << "a supervised model gives one tensor";
  return loss_from(ctx, outputs[0], batch["y"]);
}

void SupervisedTask::measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) {
  CHECK_EQ(outputs.size(), 1u) << "a supervised model gives one tensor";
  Var loss = loss_from(ctx, outputs[0], batch["y"]);
  m.add(outputs[0].value(), batch["y"], loss.value().item());
}

}  // namespace ty
