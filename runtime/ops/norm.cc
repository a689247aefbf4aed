// Batch norm and layer norm.
#include <algorithm>
#include <cmath>
#include <vector>

#include "runtime/ops/ops.h"

namespace ty::ops {

Var batch_norm(Context& ctx, const Var& x_in, const Var& gamma, const Var& beta, Tensor& running_mean,
               Tensor& running_var, float momentum, float eps, bool training) {
  const Var x = for_family(ctx, KernelFamily::kNorm, x_in);
  const int64_t n = x.shape()[0], c = x.value().ndim() > 1 ? x.shape()[1] : 1;
  CHECK_EQ(gamma.value().numel(), c) << "batch_norm channels of " << shape_str(x.shape());
  Tensor y = x.value().empty_like();
  Tensor mean = training ? ctx.empty({c}, x.dtype()) : running_mean;
  Tensor var = training ? ctx.empty({c}, x.dtype()) : running_var;
  ctx.kernels(x.dtype()).norm().batchnorm_forward(x.value(), gamma.value(), beta.value(), eps, training, mean, var, y);
  if (training) {
    const int64_t count = x.value().numel() / c;
    const double unbias = count > 1 ? double(count) / (count - 1) : 1.0;
    Kernels& k = ctx.kernels(x.dtype());
    k.pointwise().axpby(momentum, mean, 1 - momentum, running_mean);
    k.pointwise().axpby(static_cast<float>(momentum * unbias), var, 1 - momentum, running_var);
  }
  (void)n;
  return record_op(ctx, {x, gamma, beta}, Var(y), [&ctx, x, gamma, beta, mean, var, eps, training](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    Tensor dg = gamma.value().empty_like(), db = beta.value().empty_like();
    ctx.kernels(dy.dtype())
        .norm()
        .batchnorm_backward(x.value(), dy, gamma.value(), mean, var, eps, training, dx, dg, db);
    if (x.requires_grad()) x.accumulate_grad(ctx, dx);
    if (gamma.requires_grad()) gamma.accumulate_grad(ctx, dg);
    if (beta.requires_grad()) beta.accumulate_grad(ctx, db);
  });
}

namespace {

// Calls f(index, channel) for every element of x viewed as (N, C, S).
template <class F>
void for_each_element(const Tensor& x, int64_t c, F f) {
  const int64_t n = x.dim(0), s = x.numel() / std::max<int64_t>(n * c, 1);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t j = 0; j < s; ++j) f((i * c + ch) * s + j, ch);
}

// Sums a small double vector over ranks.
void sum_over_ranks(Context& ctx, std::vector<double>& v) {
  Tensor t = Tensor::empty(host_memory(), {static_cast<int64_t>(v.size())}, DType::kF64);
  std::copy(v.begin(), v.end(), t.data<double>());
  ctx.cross_rank_sum()(t);
  std::copy(t.data<double>(), t.data<double>() + v.size(), v.begin());
}

}  // namespace

Var sync_batch_norm(Context& ctx, const Var& x_in, const Var& gamma, const Var& beta, Tensor& running_mean,
                    Tensor& running_var, float momentum, float eps, bool training) {
  if (!training || !ctx.cross_rank_sum())
    return batch_norm(ctx, x_in, gamma, beta, running_mean, running_var, momentum, eps, training);
  const Var x = plain(ctx, x_in);
  CHECK(x.value().on_host()) << "sync_batch_norm runs on host tensors only (its sums are host loops)";
  const int64_t c = x.value().ndim() > 1 ? x.shape()[1] : 1, count = x.value().numel() / c;
  CHECK_EQ(gamma.value().numel(), c) << "sync_batch_norm channels of " << shape_str(x.shape());
  // Global statistics from per-rank sums: [sum x (C), sum x^2 (C), count].
  std::vector<double> sums(2 * c + 1, 0.0);
  TY_DISPATCH_FLOAT(x.dtype(), T, {
    const T* X = x.value().data<T>();
    for_each_element(x.value(), c, [&](int64_t o, int64_t ch) {
      sums[ch] += X[o];
      sums[c + ch] += double(X[o]) * X[o];
    });
  });
  sums[2 * c] = double(count);
  sum_over_ranks(ctx, sums);
  const double total = sums[2 * c];
  Tensor mean = ctx.empty({c}, x.dtype()), var = ctx.empty({c}, x.dtype());
  std::vector<double> mu(c), rstd(c);
  for (int64_t i = 0; i < c; ++i) {
    mu[i] = sums[i] / total;
    const double v = std::max(sums[c + i] / total - mu[i] * mu[i], 0.0);
    rstd[i] = 1.0 / std::sqrt(v + eps);
    mean.set(i, mu[i]);
    var.set(i, v);
  }
  Tensor y = x.value().empty_like();
  ctx.kernels(x.dtype()).norm().batchnorm_forward(x.value(), gamma.value(), beta.value(), eps, /*training=*/false, mean,
                                                  var, y);
  const double unbias = total > 1 ? total / (total - 1) : 1.0;
  for (int64_t i = 0; i < c; ++i) {
    running_mean.set(i, (1 - momentum) * running_mean.at(i) + momentum * mean.at(i));
    running_var.set(i, (1 - momentum) * running_var.at(i) + momentum * var.at(i) * unbias);
  }
  return record_op(ctx, {x, gamma, beta}, Var(y), [&ctx, x, gamma, beta, mu, rstd, c, total](const Tensor& dy) {
    // Local sums of dy and dy * xhat; their global versions give dx, the local ones the
    // parameter gradients. dx = gamma * rstd * (dy - sum_g(dy) / N - xhat * sum_g(dy xhat) / N).
    std::vector<double> local(2 * c, 0.0);
    Tensor dx = x.value().empty_like(), dg = gamma.value().empty_like(), db = beta.value().empty_like();
    TY_DISPATCH_FLOAT(dy.dtype(), T, {
      const T *X = x.value().data<T>(), *DY = dy.data<T>(), *G = gamma.value().data<T>();
      for_each_element(x.value(), c, [&](int64_t o, int64_t ch) {
        local[ch] += DY[o];
        local[c + ch] += DY[o] * (X[o] - mu[ch]) * rstd[ch];
      });
      std::vector<double> global = local;
      sum_over_ranks(ctx, global);
      T* DX = dx.data<T>();
      for_each_element(x.value(), c, [&](int64_t o, int64_t ch) {
        const double xhat = (X[o] - mu[ch]) * rstd[ch];
        DX[o] = T(G[ch] * rstd[ch] * (DY[o] - global[ch] / total - xhat * global[c + ch] / total));
      });
      for (int64_t ch = 0; ch < c; ++ch) {
        dg.data<T>()[ch] = T(local[c + ch]);
        db.data<T>()[ch] = T(local[ch]);
      }
    });
    if (x.requires_grad()) x.accumulate_grad(ctx, dx);
    if (gamma.requires_grad()) gamma.accumulate_grad(ctx, dg);
    if (beta.requires_grad()) beta.accumulate_grad(ctx, db);
  });
}

Var layer_norm(Context& ctx, const Var& x_in, const Var& gamma, const Var& beta, float eps) {
  const Var x = plain(ctx, x_in);
  const int64_t cols = x.shape().back(), rows = x.value().numel() / std::max<int64_t>(cols, 1);
  CHECK_EQ(gamma.value().numel(), cols) << "layer_norm width of " << shape_str(x.shape());
  Tensor y = x.value().empty_like();
  Tensor mean = ctx.empty({rows}, x.dtype()), var = ctx.empty({rows}, x.dtype());
  ctx.kernels(x.dtype()).norm().layernorm_forward(x.value(), gamma.value(), beta.value(), eps, y, mean, var);
  return record_op(ctx, {x, gamma, beta}, Var(y), [&ctx, x, gamma, beta, mean, var, eps](const Tensor& dy) {
    Tensor dx = x.value().empty_like();
    Tensor dg = gamma.value().empty_like(), db = beta.value().empty_like();
    ctx.kernels(dy.dtype()).norm().layernorm_backward(x.value(), dy, gamma.value(), mean, var, eps, dx, dg, db);
    if (x.requires_grad()) x.accumulate_grad(ctx, dx);
    if (gamma.requires_grad()) gamma.accumulate_grad(ctx, dg);
    if (beta.requires_grad()) beta.accumulate_grad(ctx, db);
  });
}

}  // namespace ty::ops
