#include "worker/trainer/seq2seq_task.h"

#include "runtime/ops/ops.h"

namespace ty {

Seq2seqFields seq2seq_fields(Context& ctx, const Tensor& x_in, const Tensor& y_in, int32_t bos, int32_t eos) {
  const Tensor x = x_in.host(), y = y_in.host();
  CHECK(x.shape().size() == 2 && y.shape().size() == 2 && x.dim(0) == y.dim(0))
      << "token pairs (N, Ls) and (N, Lt), got " << shape_str(x.shape()) << " and " << shape_str(y.shape());
  const int64_t n = x.dim(0), ls = x.dim(1), lt = y.dim(1);
  Tensor len = Tensor::empty(host_memory(), {n}, DType::kI32);
  Tensor in = Tensor::empty(host_memory(), {n, lt}, DType::kI32), labels = Tensor::empty(host_memory(), {n, lt}, DType::kI32);
  const int32_t *X = x.data<int32_t>(), *Y = y.data<int32_t>();
  int32_t *L = len.data<int32_t>(), *I = in.data<int32_t>(), *T = labels.data<int32_t>();
  for (int64_t r = 0; r < n; ++r) {
    int64_t s = 0;
    while (s < ls && X[r * ls + s] != eos) ++s;
    L[r] = static_cast<int32_t>(std::min(s + 1, ls));  // the source and its </s>
    bool ended = false;
    for (int64_t t = 0; t < lt; ++t) {
      I[r * lt + t] = t == 0 ? bos : Y[r * lt + t - 1];
      T[r * lt + t] = ended ? -1 : Y[r * lt + t];
      ended = ended || Y[r * lt + t] == eos;
    }
  }
  return {ctx.to_device(len), ctx.to_device(in), labels};
}

Vars Seq2seqTask::inputs(const Batch& batch) {
  Seq2seqFields f = seq2seq_fields(ctx_, batch["x"], batch["y"], bos_, eos_);
  return {Var(ctx_.to_device(batch["x"])), Var(f.source_len), Var(f.decoder_input)};
}

namespace {

// logits (N, Lt, V) as (N·Lt, V) rows and the labels as (N·Lt).
std::pair<Var, Tensor> label_rows(Context& ctx, const Vars& outputs, const Tensor& labels) {
  CHECK_EQ(outputs.size(), 1u) << "a seq2seq model gives one tensor";
  const Var& logits = outputs[0];
  CHECK_EQ(logits.shape().size(), 3u) << "seq2seq logits " << shape_str(logits.shape());
  const int64_t rows = logits.shape()[0] * logits.shape()[1];
  CHECK_EQ(labels.numel(), rows) << "labels " << shape_str(labels.shape()) << " for logits " << shape_str(logits.shape());
  return {ops::reshape(ctx, logits, {rows, logits.shape()[2]}), labels.reshape({rows})};
}

}  // namespace

Var Seq2seqTask::loss_of(Context& ctx, const Vars& outputs, const Batch& batch) {
  const Seq2seqFields f = seq2seq_fields(ctx, batch["x"], batch["y"], bos_, eos_);
  auto [logits, labels] = label_rows(ctx, outputs, f.labels);
  return ops::cross_entropy(ctx, logits, labels, label_smoothing_);
}

void Seq2seqTask::measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) {
  const Seq2seqFields f = seq2seq_fields(ctx, batch["x"], batch["y"], bos_, eos_);
  auto [logits, labels] = label_rows(ctx, outputs, f.labels);
  Var loss = ops::cross_entropy(ctx, logits, labels, 0.f);  // the held-out loss without smoothing
  m.add(logits.value(), labels, loss.value().item());
}

}  // namespace ty
