// Optimizer: updates parameters in place from their gradients, with the kernels of the
// Context the parameters live in (fused updates on the host or the device). Parameters
// without a gradient this step are left alone. Per-parameter state is created on first use.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/autograd.h"

namespace ty {

class Optimizer {
 public:
  Optimizer(Context& ctx, std::vector<Var> params) : ctx_(ctx), params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;
  // One update with learning rate `lr`.
  void step(float lr) {
    ++steps_;
    for (size_t i = 0; i < params_.size(); ++i) {
      Tensor g = params_[i].grad();
      if (g.defined()) update(i, params_[i].value(), g, lr);
    }
  }
  void zero_grad() {
    for (Var& p : params_) p.zero_grad();
  }
  const std::vector<Var>& params() const { return params_; }
  // Per parameter: whether weight decay applies (all, until set).
  void set_decays(std::vector<bool> decays) { decays_ = std::move(decays); }
  bool decays(size_t i) const { return i >= decays_.size() || decays_[i]; }
  int64_t steps() const { return steps_; }
  // Named state tensors (momentum buffers, moments, per-parameter step counts) for
  // checkpoints; load_state() restores them exactly (names and shapes must match).
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  virtual absl::Status load_state(const std::map<std::string, Tensor>& state) = 0;

 protected:
  // Updates parameter `i` (value p, gradient g; both f32 or both f64).
  virtual void update(size_t i, Tensor& p, const Tensor& g, float lr) = 0;
  // A zeroed tensor like `like`, created the first time slot `i` of `slots` is asked for.
  // A step counter as a 1-element f64 tensor (checkpoints hold only tensors).
  static Tensor counter(int64_t v) {
    Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
    t.set(0, static_cast<double>(v));
    return t;
  }
  // Copies `name` from `state` into slot i (created like the parameter); false if absent.
  bool restore_slot(const std::map<std::string, Tensor>& state, const std::string& name, std::vector<Tensor>& slots,
                    size_t i) {
    auto it = state.find(name);
    if (it == state.end()) return false;
    Tensor& dst = slot(slots, i, params_[i].value());
    if (it->second.numel() != dst.numel() || it->second.dtype() != dst.dtype()) return false;
    dst.copy_from(it->second.reshape(dst.shape()));
    return true;
  }
  static Tensor& slot(std::vector<Tensor>& slots, size_t i, const Tensor& like) {
    if (slots.size() <= i) slots.resize(i + 1);
    if (!slots[i].defined()) {
      slots[i] = like.empty_like();
      slots[i].zero();
    }
    return slots[i];
  }

  Kernels& kernels(const Tensor& p) { return ctx_.kernels(p.dtype()); }

  Context& ctx_;
  std::vector<Var> params_;
  std::vector<bool> decays_;
  int64_t steps_ = 0;
};

}  // namespace ty
