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
  const float wd = decays(i) ? o_.weight_decay : 0.f;
  const AdamStep s{o_.beta1,
                   o_.beta2,
                   o_.eps,
                   float(lr / bc1),
                   float(1.0 / std::sqrt(bc2)),
                   o_.decoupled ? 1.f - lr * wd : 1.f,
                   o_.decoupled ? 0.f : wd};
  kernels(p).optimizer().adam_update(p, g, m, v, s);
}

std::vector<std::pair<std::string, Tensor>> Adam::state() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < m_.size(); ++i)
    if (m_[i].defined()) {
      out.emplace_back(params_[i].name() + ".exp_avg", m_[i]);
      out.emplace_back(params_[i].name() + ".exp_avg_sq", v_[i]);
      out.emplace_back(params_[i].name() + ".step", counter(t_[i]));
    }
  return out;
}

absl::Status Adam::load_state(const std::map<std::string, Tensor>& state) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string& n = params_[i].name();
    auto step = state.find(n + ".step");
    if (step == state.end()) continue;  // no update yet for this parameter
    if (!restore_slot(state, n + ".exp_avg", m_, i) || !restore_slot(state, n + ".exp_avg_sq", v_, i))
      return absl::InvalidArgumentError("optimizer state for '" + n + "' is missing or has another shape");
    if (t_.size() <= i) t_.resize(i + 1, 0);
    t_[i] = static_cast<int64_t>(step->second.at(0));
  }
  return absl::OkStatus();
}

}  // namespace ty
