#include "runtime/optim/sgd.h"

namespace ty {

void Sgd::update(size_t i, Tensor& p, const Tensor& g, float lr) {
  const bool use_buf = o_.momentum != 0.f;
  Tensor buf = use_buf ? slot(momentum_, i, p) : Tensor();
  if (started_.size() <= i) started_.resize(i + 1, false);
  const bool first = !started_[i];
  started_[i] = true;
  TY_DISPATCH_FLOAT(p.dtype(), T, {
    T* P = p.data<T>();
    const T* G = g.data<T>();
    T* B = use_buf ? buf.data<T>() : nullptr;
    const T wd = o_.weight_decay, mom = o_.momentum, rate = lr;
    for (int64_t j = 0, n = p.numel(); j < n; ++j) {
      T d = G[j] + wd * P[j];
      if (B) {
        B[j] = first ? d : mom * B[j] + d;
        d = o_.nesterov ? d + mom * B[j] : B[j];
      }
      P[j] -= rate * d;
    }
  });
}

std::vector<std::pair<std::string, Tensor>> Sgd::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < momentum_.size(); ++i)
    if (momentum_[i].defined()) out.emplace_back(params_[i].name() + ".momentum", momentum_[i]);
  return out;
}

}  // namespace ty
