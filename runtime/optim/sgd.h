// SGD with momentum, Nesterov momentum and L2 weight decay (PyTorch's torch.optim.SGD rule,
// no dampening): g += wd * p; buf = momentum * buf + g (buf = g on the first step);
// g = nesterov ? g + momentum * buf : buf; p -= lr * g.
#pragma once

#include "runtime/optim/optimizer.h"

namespace ty {

struct SgdOptions {
  float momentum = 0.f;
  bool nesterov = false;
  float weight_decay = 0.f;
};

class Sgd final : public Optimizer {
 public:
  Sgd(Context& ctx, std::vector<Var> params, SgdOptions o) : Optimizer(ctx, std::move(params)), o_(o) {}
  std::string name() const override { return "sgd"; }
  std::vector<std::pair<std::string, Tensor>> state() const override;
  absl::Status load_state(const std::map<std::string, Tensor>& state) override;

 protected:
  void update(size_t i, Tensor& p, const Tensor& g, float lr) override;

 private:
  SgdOptions o_;
  std::vector<Tensor> momentum_;
  std::vector<bool> started_;
};

}  // namespace ty
