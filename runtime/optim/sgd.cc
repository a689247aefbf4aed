#include "runtime/optim/sgd.h"

namespace ty {

void Sgd::update(size_t i, Tensor& p, const Tensor& g, float lr) {
  const bool use_buf = o_.momentum != 0.f;
  Tensor buf = use_buf ? slot(momentum_, i, p) : Tensor();
  if (started_.size() <= i) started_.resize(i + 1, false);
  const SgdStep s{lr, decays(i) ? o_.weight_decay : 0.f, o_.momentum, use_buf, !started_[i], o_.nesterov};
  started_[i] = true;
  kernels(p).optimizer().sgd_update(p, g, use_buf ? &buf : nullptr, s);
}

std::vector<std::pair<std::string, Tensor>> Sgd::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < started_.size(); ++i) {
    if (!started_[i]) continue;
    out.emplace_back(params_[i].name() + ".started", counter(1));
    if (i < momentum_.size() && momentum_[i].defined()) out.emplace_back(params_[i].name() + ".momentum", momentum_[i]);
  }
  return out;
}

absl::Status Sgd::load_state(const std::map<std::string, Tensor>& state) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name();
    if (!state.count(n + ".started")) continue;
    if (started_.size() <= i) started_.resize(i + 1, false);
    started_[i] = true;
    if (o_.momentum != 0.f && !restore_slot(state, n + ".momentum", momentum_, i))
      return absl::InvalidArgumentError("optimizer state for '" + n + "' has no momentum buffer of its shape");
  }
  return absl::OkStatus();
}

}  // namespace ty
