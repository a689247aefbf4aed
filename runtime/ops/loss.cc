// Losses: cross-entropy (label smoothing), MSE, binary cross-entropy with logits.
#include <cmath>

#include "runtime/ops/ops.h"

namespace ty::ops {

// loss = mean_i [ -sum_c q_ic * log_softmax(x_i)_c ], q = (1 - s) * onehot + s / C.
// d/dx = (softmax(x) - q) / N.
Var cross_entropy(Context& ctx, const Var& logits_in, const Tensor& labels, float smoothing) {
  const Var logits = plain(ctx, logits_in);
  CHECK_EQ(logits.value().ndim(), 2) << "cross_entropy logits " << shape_str(logits.shape());
  const int64_t n = logits.shape()[0], c = logits.shape()[1];
  CHECK_EQ(labels.numel(), n) << "cross_entropy: " << labels.numel() << " labels for " << n << " rows";
  Tensor logp = logits.value().empty_like();
  ctx.kernels(logits.dtype()).softmax_forward(true, logits.value(), logp);
  const int32_t* L = labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    CHECK(L[i] >= 0 && L[i] < c) << "label " << L[i] << " at row " << i << " outside [0, " << c << ")";
  Tensor y = ctx.empty({1}, logits.dtype());
  TY_DISPATCH_FLOAT(logits.dtype(), T, {
    const T* P = logp.data<T>();
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
      double row = -(1.0 - smoothing) * P[i * c + L[i]];
      if (smoothing > 0) {
        double s = 0;
        for (int64_t j = 0; j < c; ++j) s += P[i * c + j];
        row -= smoothing / c * s;
      }
      total += row;
    }
    y.data<T>()[0] = static_cast<T>(total / std::max<int64_t>(n, 1));
  });
  return record_op(ctx, {logits}, Var(y), [logits, labels, logp, smoothing, n, c](const Tensor& dy) {
    Tensor dx = logp.empty_like();
    const int32_t* L = labels.data<int32_t>();
    TY_DISPATCH_FLOAT(dx.dtype(), T, {
      const T* P = logp.data<T>();
      T* D = dx.data<T>();
      const T scale = T(dy.at(0)) / T(std::max<int64_t>(n, 1));
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j) {
          T q = T(smoothing / c) + (j == L[i] ? T(1 - smoothing) : T(0));
          D[i * c + j] = (std::exp(P[i * c + j]) - q) * scale;
        }
    });
    logits.accumulate_grad(dx);
  });
}

Var mse_loss(Context& ctx, const Var& pred_in, const Tensor& target) {
  const Var pred = plain(ctx, pred_in);
  CHECK_EQ(pred.value().numel(), target.numel())
      << "mse_loss " << shape_str(pred.shape()) << " vs " << shape_str(target.shape());
  const int64_t n = target.numel();
  Tensor y = ctx.empty({1}, pred.dtype());
  Tensor t = target.dtype() == pred.dtype() ? target : target.to(pred.dtype());
  TY_DISPATCH_FLOAT(pred.dtype(), T, {
    const T *P = pred.value().data<T>(), *Q = t.data<T>();
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) acc += double(P[i] - Q[i]) * (P[i] - Q[i]);
    y.data<T>()[0] = static_cast<T>(acc / std::max<int64_t>(n, 1));
  });
  return record_op(ctx, {pred}, Var(y), [pred, t, n](const Tensor& dy) {
    Tensor dx = pred.value().empty_like();
    TY_DISPATCH_FLOAT(dx.dtype(), T, {
      const T *P = pred.value().data<T>(), *Q = t.data<T>();
      T* D = dx.data<T>();
      const T scale = T(2) * T(dy.at(0)) / T(std::max<int64_t>(n, 1));
      for (int64_t i = 0; i < n; ++i) D[i] = (P[i] - Q[i]) * scale;
    });
    pred.accumulate_grad(dx);
  });
}

// loss = mean( max(x, 0) - x * t + log(1 + exp(-|x|)) ); d/dx = (sigmoid(x) - t) / N.
Var bce_with_logits(Context& ctx, const Var& logits_in, const Tensor& target) {
  const Var logits = plain(ctx, logits_in);
  CHECK_EQ(logits.value().numel(), target.numel())
      << "bce_with_logits " << shape_str(logits.shape()) << " vs " << shape_str(target.shape());
  const int64_t n = target.numel();
  Tensor y = ctx.empty({1}, logits.dtype());
  Tensor t = target.dtype() == logits.dtype() ? target : target.to(logits.dtype());
  TY_DISPATCH_FLOAT(logits.dtype(), T, {
    const T *X = logits.value().data<T>(), *Q = t.data<T>();
    double acc = 0;
    for (int64_t i = 0; i < n; ++i)
      acc += std::max<double>(X[i], 0) - double(X[i]) * Q[i] + std::log1p(std::exp(-std::fabs(double(X[i]))));
    y.data<T>()[0] = static_cast<T>(acc / std::max<int64_t>(n, 1));
  });
  return record_op(ctx, {logits}, Var(y), [logits, t, n](const Tensor& dy) {
    Tensor dx = logits.value().empty_like();
    TY_DISPATCH_FLOAT(dx.dtype(), T, {
      const T *X = logits.value().data<T>(), *Q = t.data<T>();
      T* D = dx.data<T>();
      const T scale = T(dy.at(0)) / T(std::max<int64_t>(n, 1));
      for (int64_t i = 0; i < n; ++i) D[i] = (T(1) / (T(1) + std::exp(-X[i])) - Q[i]) * scale;
    });
    logits.accumulate_grad(dx);
  });
}

}  // namespace ty::ops
