// LanguageModelTask: next-token prediction over token records (data import text). The
// model maps ids (N, L) to logits (N, L, V); the loss is the cross-entropy of every
// position against the next token (label smoothing as train.label_smoothing; a target of
// -1 is padding, left out), and evaluation reports it per token with perplexity.
#pragma once

#include "worker/trainer/task.h"

namespace ty {

class LanguageModelTask final : public Task {
 public:
  LanguageModelTask(int64_t vocab, float label_smoothing) : vocab_(vocab), label_smoothing_(label_smoothing) {}

  // Fields x (token ids) and y (next tokens), both i32 (N, L).
  Vars inputs(const Batch& batch) override { return {Var(batch["x"])}; }
  Var loss_of(Context& ctx, const Vars& outputs, const Batch& batch) override;
  void measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) override;
  MetricsAccumulator new_metrics() const override { return MetricsAccumulator(vocab_, true); }

 private:
  int64_t vocab_;
  float label_smoothing_;
};

}  // namespace ty
