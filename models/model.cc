#include "models/model.h"

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {

Model::Model(std::unique_ptr<Sequential> net, std::string name) : net_(std::move(net)), name_(std::move(name)) {
  for (auto& [path, v] : net_->params()) v.state()->name = qualified(path);
}

std::vector<std::pair<std::string, Var>> Model::named_params() {
  auto out = net_->params();
  for (auto& [path, v] : out) path = qualified(path);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Model::buffers() {
  auto out = net_->buffers();
  for (auto& [path, t] : out) path = qualified(path);
  return out;
}

absl::StatusOr<std::vector<std::unique_ptr<Model>>> Model::cut(std::unique_ptr<Model> whole,
                                                               const std::vector<size_t>& cuts) {
  const size_t n = whole->num_layers();
  for (size_t i = 0; i < cuts.size(); ++i)
    if (cuts[i] == 0 || cuts[i] >= n || (i > 0 && cuts[i] <= cuts[i - 1]))
      return absl::InvalidArgumentError(absl::StrCat("cut points must ascend within (0, ", n,
                                                     ") so that no stage is empty; cut ", i, " is ", cuts[i]));
  std::vector<std::unique_ptr<Model>> stages;
  size_t begin = 0;
  for (size_t s = 0; s <= cuts.size(); ++s) {
    const size_t end = s < cuts.size() ? cuts[s] : n;
    stages.push_back(std::make_unique<Model>(whole->net_->take(begin, end), whole->name_));
    begin = end;
  }
  return stages;
}

std::vector<Var> Model::params() {
  std::vector<Var> out;
  for (auto& [name, v] : named_params()) out.push_back(v);
  return out;
}

std::vector<std::vector<Var>> Model::param_groups() {
  bool named = net_->size() > 0;
  for (size_t i = 0; i < net_->size(); ++i) named = named && !net_->name(i).empty();
  if (!named) return {params()};
  std::vector<std::vector<Var>> out;
  for (size_t i = 0; i < net_->size(); ++i) {
    out.emplace_back();
    for (auto& [name, v] : net_->layer(i).params()) out.back().push_back(v);
  }
  return out;
}

std::vector<bool> Model::decays(bool decay_all) {
  std::vector<bool> out;
  for (size_t i = 0; i < net_->size(); ++i) {
    Layer& l = net_->layer(i);
    for (auto& [name, v] : l.params()) out.push_back(decay_all || (v.shape().size() >= 2 && !l.embeds()));
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Model::state() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [name, v] : named_params()) out.emplace_back(name, v.value());
  for (auto& b : buffers()) out.push_back(b);
  return out;
}

int64_t Model::num_params() {
  int64_t n = 0;
  for (auto& [name, v] : named_params()) n += v.value().numel();
  return n;
}

}  // namespace ty
