// Autograd: a Var is a tensor that may carry a gradient; a Tape records each op's backward
// closure during forward and replays them in reverse. A leaf (parameter) can have a hook
// that fires as soon as its gradient is final within a backward pass (for data parallel:
// start reducing a bucket while backward goes on).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/context.h"
#include "runtime/tensor.h"

namespace ty {

struct VarState {
  Tensor value;
  Tensor grad;              // kept across steps so its buffer is reused
  bool grad_valid = false;  // false: grad holds stale values, treat as zero
  // Gradients land in `grad`'s own buffer (copied in) instead of replacing it, e.g. when
  // it is a view into a data-parallel gradient bucket.
  bool pin_grad_buffer = false;
  bool requires_grad = false;
  bool is_leaf = true;
  std::string name;
  std::function<void(VarState&)> on_grad_ready;  // (optional) leaves only
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false, std::string name = "");

  bool defined() const { return state_ != nullptr; }
  const Tensor& value() const { return state_->value; }
  Tensor& value() { return state_->value; }
  // The gradient, or an undefined tensor when none was accumulated since zero_grad().
  Tensor grad() const { return state_->grad_valid ? state_->grad : Tensor(); }
  bool requires_grad() const { return state_ && state_->requires_grad; }
  const Shape& shape() const { return state_->value.shape(); }
  DType dtype() const { return state_->value.dtype(); }
  const std::string& name() const { return state_->name; }
  VarState* state() const { return state_.get(); }

  // Marks the gradient stale without freeing its buffer.
  void zero_grad() { state_->grad_valid = false; }
  // Adds `g` into the gradient (takes `g` over when there is none yet), with ctx's kernels.
  void accumulate_grad(Context& ctx, const Tensor& g) const;
  void set_grad_ready_hook(std::function<void(VarState&)> hook) { state_->on_grad_ready = std::move(hook); }

 private:
  std::shared_ptr<VarState> state_;
};

class Tape {
 public:
  using Backward = std::function<void(const Tensor& grad_out)>;

  // Records `fn`, which turns the gradient of `out` into gradients of `inputs`.
  void record(std::vector<Var> inputs, const Var& out, Backward fn);
  // Whether an op on `inputs` must be recorded (some input needs a gradient).
  static bool needs_grad(std::initializer_list<const Var*> inputs);

  // Seeds d(loss)/d(loss) = `seed` (1; a loss scale under fp16) and runs every recorded
  // backward in reverse, firing leaf hooks as gradients become final. Clears the tape.
  void backward(const Var& loss, double seed = 1.0);
  // The same from several outputs whose gradients are given (`grads[i]` for `outputs[i]`,
  // same shapes): a pipeline stage's backward from the gradients the next stage sent.
  void backward(const std::vector<Var>& outputs, const std::vector<Tensor>& grads);
  void clear() { nodes_.clear(); }
  size_t size() const { return nodes_.size(); }

 private:
  struct Node {
    std::vector<Var> inputs;
    Var out;
    Backward fn;
  };
  // Runs the recorded backwards, the outputs' gradients seeded.
  void run();
  std::vector<Node> nodes_;
};

// Records `fn` on ctx's tape when one is set and some input needs a gradient; marks `out` as
// needing one too. Returns `out`.
Var record_op(Context& ctx, std::vector<Var> inputs, Var out, Tape::Backward fn);
inline Var record_op(Context& ctx, std::initializer_list<Var> inputs, Var out, Tape::Backward fn) {
  return record_op(ctx, std::vector<Var>(inputs), std::move(out), std::move(fn));
}

}  // namespace ty
