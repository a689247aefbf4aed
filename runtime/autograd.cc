#include "runtime/autograd.h"

#include <unordered_map>

namespace ty {

Var::Var(Tensor value, bool requires_grad, std::string name) : state_(std::make_shared<VarState>()) {
  state_->value = std::move(value);
  state_->requires_grad = requires_grad;
  state_->name = std::move(name);
}

void Var::accumulate_grad(Context& ctx, const Tensor& g) const {
  VarState& s = *state_;
  CHECK_EQ(g.numel(), s.value.numel()) << "gradient " << shape_str(g.shape()) << " for " << shape_str(s.value.shape())
                                       << " " << s.name;
  CHECK(g.layout() == s.value.layout()) << "a " << layout_name(g.layout()) << " gradient for a "
                                        << layout_name(s.value.layout()) << " value " << s.name;
  if (!s.grad_valid) {
    if (s.pin_grad_buffer && s.grad.defined()) {
      s.grad.copy_from(g);
    } else {
      s.grad = g.reshape(s.value.shape());
    }
    s.grad_valid = true;
    return;
  }
  ctx.kernels(g.dtype()).pointwise().accumulate(s.grad, g);
}

bool Tape::needs_grad(std::initializer_list<const Var*> inputs) {
  for (const Var* v : inputs)
    if (v->requires_grad()) return true;
  return false;
}

void Tape::record(std::vector<Var> inputs, const Var& out, Backward fn) {
  nodes_.push_back(Node{std::move(inputs), out, std::move(fn)});
}

void Tape::backward(const Var& loss, double seed_value) {
  CHECK_EQ(loss.value().numel(), 1) << "backward from a non-scalar " << shape_str(loss.shape());
  Tensor seed = loss.value().empty_like();
  seed.fill(seed_value);
  loss.state()->grad = seed;
  loss.state()->grad_valid = true;
  run();
}

void Tape::backward(const std::vector<Var>& outputs, const std::vector<Tensor>& grads) {
  CHECK_EQ(outputs.size(), grads.size()) << "backward: " << outputs.size() << " outputs, " << grads.size()
                                         << " gradients";
  for (size_t i = 0; i < outputs.size(); ++i) {
    CHECK(outputs[i].shape() == grads[i].shape())
        << "backward: output " << i << " is " << shape_str(outputs[i].shape()) << ", its gradient "
        << shape_str(grads[i].shape());
    outputs[i].state()->grad = grads[i];
    outputs[i].state()->grad_valid = true;
  }
  run();
}

void Tape::run() {
  // Leaves become final after the earliest node that reads them has run its backward.
  std::unordered_map<VarState*, size_t> first_use;
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (const Var& in : nodes_[i].inputs) {
      VarState* s = in.state();
      if (s->is_leaf && s->requires_grad && s->on_grad_ready && !first_use.count(s)) first_use[s] = i;
    }
  std::vector<std::vector<VarState*>> ready_after(nodes_.size());
  for (auto& [s, i] : first_use) ready_after[i].push_back(s);

  for (size_t i = nodes_.size(); i-- > 0;) {
    Node& node = nodes_[i];
    Tensor g = node.out.grad();
    if (g.defined()) node.fn(g);
    // Intermediate gradients are not needed again: free them early.
    node.out.state()->grad = Tensor();
    node.out.state()->grad_valid = false;
    for (VarState* s : ready_after[i]) s->on_grad_ready(*s);
  }
  nodes_.clear();
}

Var record_op(Context& ctx, std::vector<Var> inputs, Var out, Tape::Backward fn) {
  if (ctx.tape() == nullptr) return out;
  bool any = false;
  for (const Var& v : inputs) any = any || v.requires_grad();
  if (!any) return out;
  out.state()->requires_grad = true;
  out.state()->is_leaf = false;
  ctx.tape()->record(std::move(inputs), out, std::move(fn));
  return out;
}

}  // namespace ty
