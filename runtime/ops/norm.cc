// Batch norm and layer norm.
#include "runtime/ops/ops.h"

namespace ty::ops {

Var batch_norm(Context& ctx, const Var& x_in, const Var& gamma, const Var& beta,
               Tensor& running_mean, Tensor& running_var, float momentum, float eps,
               bool training) {
  const Var x = ctx.kernels(x_in.dtype()).handles(x_in.value().layout()) ? x_in : plain(ctx, x_in);
  const int64_t n = x.shape()[0], c = x.value().ndim() > 1 ? x.shape()[1] : 1;
  CHECK_EQ(gamma.value().numel(), c) << "batch_norm channels of " << shape_str(x.shape());
  Tensor y = x.value().empty_like();
  Tensor mean = training ? ctx.empty({c}, x.dtype()) : running_mean;
  Tensor var = training ? ctx.empty({c}, x.dtype()) : running_var;
  ctx.kernels(x.dtype()).batchnorm_forward(x.value(), gamma.value(), beta.value(), eps, training,
                                           mean, var, y);
  if (training) {
    const int64_t count = x.value().numel() / c;
    const double unbias = count > 1 ? double(count) / (count - 1) : 1.0;
    TY_DISPATCH_FLOAT(x.dtype(), T, {
      T *RM = running_mean.data<T>(), *RV = running_var.data<T>();
      const T *M = mean.data<T>(), *V = var.data<T>();
      for (int64_t i = 0; i < c; ++i) {
        RM[i] = (1 - momentum) * RM[i] + momentum * M[i];
        RV[i] = (1 - momentum) * RV[i] + momentum * T(V[i] * unbias);
      }
    });
  }
  (void)n;
  return record_op(ctx, {x, gamma, beta}, Var(y),
                   [&ctx, x, gamma, beta, mean, var, eps, training](const Tensor& dy) {
                     Tensor dx = x.value().empty_like();
                     Tensor dg = gamma.value().empty_like(), db = beta.value().empty_like();
                     ctx.kernels(dy.dtype()).batchnorm_backward(x.value(), dy, gamma.value(), mean,
                                                                var, eps, training, dx, dg, db);
                     if (x.requires_grad()) x.accumulate_grad(dx);
                     if (gamma.requires_grad()) gamma.accumulate_grad(dg);
                     if (beta.requires_grad()) beta.accumulate_grad(db);
                   });
}

Var layer_norm(Context& ctx, const Var& x_in, const Var& gamma, const Var& beta, float eps) {
  const Var x = plain(ctx, x_in);
  const int64_t cols = x.shape().back(), rows = x.value().numel() / std::max<int64_t>(cols, 1);
  CHECK_EQ(gamma.value().numel(), cols) << "layer_norm width of " << shape_str(x.shape());
  Tensor y = x.value().empty_like();
  Tensor mean = ctx.empty({rows}, x.dtype()), var = ctx.empty({rows}, x.dtype());
  ctx.kernels(x.dtype()).layernorm_forward(x.value(), gamma.value(), beta.value(), eps, y, mean,
                                           var);
  return record_op(ctx, {x, gamma, beta}, Var(y),
                   [&ctx, x, gamma, beta, mean, var, eps](const Tensor& dy) {
                     Tensor dx = x.value().empty_like();
                     Tensor dg = gamma.value().empty_like(), db = beta.value().empty_like();
                     ctx.kernels(dy.dtype()).layernorm_backward(x.value(), dy, gamma.value(), mean,
                                                                var, eps, dx, dg, db);
                     if (x.requires_grad()) x.accumulate_grad(dx);
                     if (gamma.requires_grad()) gamma.accumulate_grad(dg);
                     if (beta.requires_grad()) beta.accumulate_grad(db);
                   });
}

}  // namespace ty::ops
