#include "runtime/optim/clip.h"

#include <cmath>

namespace ty {

double clip_grad_norm(const std::vector<Var>& params, double max_norm) {
  double sq = 0;
  for (const Var& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    TY_DISPATCH_FLOAT(g.dtype(), T, {
      const T* G = g.data<T>();
      for (int64_t i = 0, n = g.numel(); i < n; ++i) sq += double(G[i]) * G[i];
    });
  }
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const Var& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      TY_DISPATCH_FLOAT(g.dtype(), T, {
        T* G = g.data<T>();
        for (int64_t i = 0, n = g.numel(); i < n; ++i) G[i] = T(G[i] * scale);
      });
    }
  }
  return norm;
}

}  // namespace ty
