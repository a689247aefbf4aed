#include "runtime/optim/sgd.h"

#include "runtime/optim/update_math.h"

namespace ty {
namespace {

template <class T>
__attribute__((always_inline)) inline void sgd_kernel(int64_t n, T* __restrict p, const T* __restrict g,
                                                      T* __restrict buf, const SgdStep& s) {
  if (s.use_buf) {
    for (int64_t j = 0; j < n; ++j) sgd_element(p[j], g[j], buf + j, s);
  } else {
    for (int64_t j = 0; j < n; ++j) sgd_element<T>(p[j], g[j], nullptr, s);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void sgd_kernel_f32(int64_t n, float* __restrict p, const float* __restrict g, float* __restrict buf,
                    const SgdStep& s) {
  sgd_kernel<float>(n, p, g, buf, s);
}

}  // namespace

void Sgd::update(size_t i, Tensor& p, const Tensor& g, float lr) {
  const bool use_buf = o_.momentum != 0.f;
  Tensor buf = use_buf ? slot(momentum_, i, p) : Tensor();
  if (started_.size() <= i) started_.resize(i + 1, false);
  const SgdStep s{lr, o_.weight_decay, o_.momentum, use_buf, !started_[i], o_.nesterov};
  started_[i] = true;
  if (p.dtype() == DType::kF32) {
    sgd_kernel_f32(p.numel(), p.data<float>(), g.data<float>(), use_buf ? buf.data<float>() : nullptr, s);
  } else {
    sgd_kernel<double>(p.numel(), p.data<double>(), g.data<double>(), use_buf ? buf.data<double>() : nullptr, s);
  }
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
