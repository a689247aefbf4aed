// Adam (L2 weight decay added to the gradient) and AdamW (decoupled weight decay:
// p *= 1 - lr * wd before the Adam step), with PyTorch's bias correction:
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
#pragma once

#include "runtime/optim/optimizer.h"

namespace ty {

struct AdamOptions {
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.f;
  bool decoupled = false;  // AdamW
};

class Adam final : public Optimizer {
 public:
  Adam(Context& ctx, std::vector<Var> params, AdamOptions o) : Optimizer(ctx, std::move(params)), o_(o) {}
  std::string name() const override { return o_.decoupled ? "adamw" : "adam"; }
  std::vector<std::pair<std::string, Tensor>> state() const override;
  absl::Status load_state(const std::map<std::string, Tensor>& state) override;

 protected:
  void update(size_t i, Tensor& p, const Tensor& g, float lr) override;

 private:
  AdamOptions o_;
  std::vector<Tensor> m_, v_;
  std::vector<int64_t> t_;
};

}  // namespace ty
