#include "worker/trainer/language_model_task.h"

#include "runtime/ops/ops.h"

namespace ty {
namespace {

// logits (N, L, V) as (N·L, V) rows and the targets (N, L) as (N·L) labels.
std::pair<Var, Tensor> token_rows(Context& ctx, const Vars& outputs, const Batch& batch) {
  CHECK_EQ(outputs.size(), 1u) << "a language model gives one tensor";
  const Var& logits = outputs[0];
  CHECK_EQ(logits.shape().size(), 3u) << "language model logits " << shape_str(logits.shape());
  const Tensor& y = batch["y"];
  const int64_t rows = logits.shape()[0] * logits.shape()[1];
  CHECK_EQ(y.numel(), rows) << "targets " << shape_str(y.shape()) << " for logits " << shape_str(logits.shape());
  return {ops::reshape(ctx, logits, {rows, logits.shape()[2]}), y.reshape({rows})};
}

}  // namespace

Var LanguageModelTask::loss_of(Context& ctx, const Vars& outputs, const Batch& batch) {
  auto [logits, labels] = token_rows(ctx, outputs, batch);
  return ops::cross_entropy(ctx, logits, labels, label_smoothing_);
}

void LanguageModelTask::measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) {
  auto [logits, labels] = token_rows(ctx, outputs, batch);
  // The held-out loss without smoothing: the figure perplexity means.
  Var loss = ops::cross_entropy(ctx, logits, labels, 0.f);
  m.add(logits.value(), labels, loss.value().item());
}

}  // namespace ty
