// Seq2seqTask: translation over token pairs (data import parallel). A record's x holds the
// source ids and y the target ids, each followed by "</s>" and padded with it. Per batch:
//   source lengths  the first "</s>" of each source, counted (what attention sees);
//   decoder input   "<s>", then the target shifted right (teacher forcing);
//   labels          the target and its "</s>", then -1 (padding, left out of the loss).
// The model maps [source ids, source lengths, decoder input] to logits (N, Lt, V); the loss
// is the cross-entropy of every labelled position (label smoothing as train.label_smoothing)
// and evaluation reports it per token with perplexity and accuracy.
#pragma once

#include "worker/trainer/task.h"

namespace ty {

// The per-batch fields above, computed from a batch's x and y (host or device): source
// lengths i32 (N) and decoder input i32 (N, Lt) on ctx's device, labels i32 (N, Lt) on the
// host (ops::cross_entropy counts the padding it leaves out from host labels).
struct Seq2seqFields {
  Tensor source_len, decoder_input, labels;
};
Seq2seqFields seq2seq_fields(Context& ctx, const Tensor& x, const Tensor& y, int32_t bos, int32_t eos);

class Seq2seqTask final : public Task {
 public:
  Seq2seqTask(Context& ctx, int64_t vocab, int32_t bos, int32_t eos, float label_smoothing)
      : ctx_(ctx), vocab_(vocab), bos_(bos), eos_(eos), label_smoothing_(label_smoothing) {}

  Vars inputs(const Batch& batch) override;
  Var loss_of(Context& ctx, const Vars& outputs, const Batch& batch) override;
  void measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) override;
  MetricsAccumulator new_metrics() const override { return MetricsAccumulator(vocab_, true); }

 private:
  Context& ctx_;
  int64_t vocab_;
  int32_t bos_, eos_;
  float label_smoothing_;
};

}  // namespace ty
