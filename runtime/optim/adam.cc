#include "runtime/optim/adam.h"

#include <cmath>

namespace ty {

void Adam::update(size_t i, Tensor& p, const Tensor& g, float lr) {
  Tensor& m = slot(m_, i, p);
  Tensor& v = slot(v_, i, p);
  if (t_.size() <= i) t_.resize(i + 1, 0);
  const int64_t t = ++t_[i];
  const double bc1 = 1.0 - std::pow(double(o_.beta1), double(t));
  const double bc2 = 1.0 - std::pow(double(o_.beta2), double(t));
  TY_DISPATCH_FLOAT(p.dtype(), T, {
    T* P = p.data<T>();
    const T* G = g.data<T>();
    T *M = m.data<T>(), *V = v.data<T>();
    const T b1 = o_.beta1, b2 = o_.beta2, eps = o_.eps, wd = o_.weight_decay;
    const T step = T(lr / bc1), rbc2 = T(1.0 / std::sqrt(bc2));
    const T decay = o_.decoupled ? T(1) - T(lr) * wd : T(1);
    const T l2 = o_.decoupled ? T(0) : wd;
    for (int64_t j = 0, n = p.numel(); j < n; ++j) {
      T d = G[j] + l2 * P[j];
      M[j] = b1 * M[j] + (T(1) - b1) * d;
      V[j] = b2 * V[j] + (T(1) - b2) * d * d;
      P[j] = P[j] * decay - step * M[j] / (std::sqrt(V[j]) * rbc2 + eps);
    }
  });
}

std::vector<std::pair<std::string, Tensor>> Adam::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < m_.size(); ++i)
    if (m_[i].defined()) {
      out.emplace_back(params_[i].name() + ".exp_avg", m_[i]);
      out.emplace_back(params_[i].name() + ".exp_avg_sq", v_[i]);
    }
  return out;
}

}  // namespace ty
