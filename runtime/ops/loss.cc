// Losses: cross-entropy (label smoothing), MSE, binary cross-entropy with logits. The
// arithmetic is the backend's (LossKernels::*_forward/_backward); here: shapes, checks
// and autograd.
#include "runtime/ops/ops.h"

namespace ty::ops {
namespace {

// `target` in `like`'s dtype and memory.
Tensor as_target(Context& ctx, const Tensor& target, const Tensor& like) {
  Tensor t = target.dtype() == like.dtype() ? target : target.to(like.dtype());
  return t.device() == like.device() ? t : t.copy_to(ctx.allocator(), ctx.device());
}

}  // namespace

// loss = mean_i [ -sum_c q_ic * log_softmax(x_i)_c ], q = (1 - s) * onehot + s / C.
// d/dx = (softmax(x) - q) / N.
Var cross_entropy(Context& ctx, const Var& logits_in, const Tensor& labels_in, float smoothing) {
  const Var logits = plain(ctx, logits_in);
  CHECK_EQ(logits.value().ndim(), 2) << "cross_entropy logits " << shape_str(logits.shape());
  const int64_t n = logits.shape()[0], c = logits.shape()[1];
  CHECK_EQ(labels_in.numel(), n) << "cross_entropy: " << labels_in.numel() << " labels for " << n << " rows";
  // Labels on the host are checked here; device labels were checked where they were loaded.
  // Rows labelled kIgnoreLabel are left out: the kernels average over all n rows, so the
  // loss is rescaled to the mean over the counted ones.
  int64_t counted = n;
  if (labels_in.on_host()) {
    const int32_t* L = labels_in.data<int32_t>();
    for (int64_t i = 0; i < n; ++i) {
      CHECK(L[i] == kIgnoreLabel || (L[i] >= 0 && L[i] < c))
          << "label " << L[i] << " at row " << i << " outside [0, " << c << ")";
      counted -= L[i] == kIgnoreLabel;
    }
  }
  const float rescale = counted == n || counted == 0 ? 1.f : static_cast<float>(n) / static_cast<float>(counted);
  const Tensor labels =
      labels_in.device() == logits.value().device() ? labels_in : labels_in.copy_to(ctx.allocator(), ctx.device());
  Kernels& k = ctx.kernels(logits.dtype());
  Tensor logp = logits.value().empty_like();
  k.activation().softmax_forward(true, logits.value(), logp);
  Tensor y = ctx.empty({1}, logits.dtype());
  k.loss().cross_entropy_forward(logp, labels, smoothing, y);
  if (rescale != 1.f) k.pointwise().axpby(rescale, y.clone(), 0.f, y);
  return record_op(ctx, {logits}, Var(y), [&ctx, logits, labels, logp, smoothing, rescale](const Tensor& dy_in) {
    Kernels& k = ctx.kernels(logp.dtype());
    Tensor dy = dy_in;
    if (rescale != 1.f) {
      dy = dy_in.clone();
      k.pointwise().axpby(rescale, dy_in, 0.f, dy);
    }
    Tensor dx = logp.empty_like();
    k.loss().cross_entropy_backward(logp, labels, smoothing, dy, dx);
    logits.accumulate_grad(ctx, dx);
  });
}

Var mse_loss(Context& ctx, const Var& pred_in, const Tensor& target) {
  const Var pred = plain(ctx, pred_in);
  CHECK_EQ(pred.value().numel(), target.numel())
      << "mse_loss " << shape_str(pred.shape()) << " vs " << shape_str(target.shape());
  Tensor y = ctx.empty({1}, pred.dtype());
  const Tensor t = as_target(ctx, target, pred.value());
  ctx.kernels(pred.dtype()).loss().mse_forward(pred.value(), t, y);
  return record_op(ctx, {pred}, Var(y), [&ctx, pred, t](const Tensor& dy) {
    Tensor dx = pred.value().empty_like();
    ctx.kernels(dx.dtype()).loss().mse_backward(pred.value(), t, dy, dx);
    pred.accumulate_grad(ctx, dx);
  });
}

// loss = mean( max(x, 0) - x * t + log(1 + exp(-|x|)) ); d/dx = (sigmoid(x) - t) / N.
Var bce_with_logits(Context& ctx, const Var& logits_in, const Tensor& target) {
  const Var logits = plain(ctx, logits_in);
  CHECK_EQ(logits.value().numel(), target.numel())
      << "bce_with_logits " << shape_str(logits.shape()) << " vs " << shape_str(target.shape());
  Tensor y = ctx.empty({1}, logits.dtype());
  const Tensor t = as_target(ctx, target, logits.value());
  ctx.kernels(logits.dtype()).loss().bce_forward(logits.value(), t, y);
  return record_op(ctx, {logits}, Var(y), [&ctx, logits, t](const Tensor& dy) {
    Tensor dx = logits.value().empty_like();
    ctx.kernels(dx.dtype()).loss().bce_backward(logits.value(), t, dy, dx);
    logits.accumulate_grad(ctx, dx);
  });
}

}  // namespace ty::ops
