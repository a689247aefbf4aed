#include "runtime/optim/adam.h"

#include <cmath>

#include "runtime/optim/update_math.h"

namespace ty {
namespace {

// The fused update over n elements: p, m, v in place from g.
template <class T>
__attribute__((always_inline)) inline void adam_kernel(int64_t n, T* __restrict p, const T* __restrict g,
                                                       T* __restrict m, T* __restrict v, const AdamStep& s) {
  for (int64_t j = 0; j < n; ++j) adam_element(p[j], g[j], m[j], v[j], s);
}

// f32 is the hot path: compiled for several ISAs, the best one picked at load time.
__attribute__((target_clones("avx512f", "avx2", "default")))
void adam_kernel_f32(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict m,
                     float* __restrict v, const AdamStep& s) {
  adam_kernel<float>(n, p, g, m, v, s);
}

}  // namespace

void Adam::update(size_t i, Tensor& p, const Tensor& g, float lr) {
  Tensor& m = slot(m_, i, p);
  Tensor& v = slot(v_, i, p);
  if (t_.size() <= i) t_.resize(i + 1, 0);
  const int64_t t = ++t_[i];
  const double bc1 = 1.0 - std::pow(double(o_.beta1), double(t));
  const double bc2 = 1.0 - std::pow(double(o_.beta2), double(t));
  const AdamStep s{o_.beta1,
                   o_.beta2,
                   o_.eps,
                   float(lr / bc1),
                   float(1.0 / std::sqrt(bc2)),
                   o_.decoupled ? 1.f - lr * o_.weight_decay : 1.f,
                   o_.decoupled ? 0.f : o_.weight_decay};
  if (p.dtype() == DType::kF32) {
    adam_kernel_f32(p.numel(), p.data<float>(), g.data<float>(), m.data<float>(), v.data<float>(), s);
  } else {
    adam_kernel<double>(p.numel(), p.data<double>(), g.data<double>(), m.data<double>(), v.data<double>(), s);
  }
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
