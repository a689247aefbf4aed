#include "models/layers/sequential.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {

void add_prefixed(std::vector<std::pair<std::string, Var>>& out, const std::string& prefix,
                  std::vector<std::pair<std::string, Var>> in) {
  for (auto& [name, v] : in) out.emplace_back(prefix + name, v);
}

void add_prefixed(std::vector<std::pair<std::string, Tensor>>& out, const std::string& prefix,
                  std::vector<std::pair<std::string, Tensor>> in) {
  for (auto& [name, t] : in) out.emplace_back(prefix + name, t);
}

namespace {

// What keep_only leaves of a layer of another stage: its shapes, description and
// activation size. Never run.
class OtherStagesLayer final : public Layer {
 public:
  explicit OtherStagesLayer(const Layer& l)
      : out_shapes_(l.out_shapes()), describe_(l.describe()), activation_numel_(l.activation_numel()) {
    out_shape_ = l.out_shape();
  }
  Vars apply(Context&, const Vars&) override {
    LOG(FATAL) << "a layer of another pipeline stage ran: " << describe_;
    return {};
  }
  std::string describe() const override { return describe_; }
  std::vector<Shape> out_shapes() const override { return out_shapes_; }
  int64_t activation_numel() const override { return activation_numel_; }

 private:
  std::vector<Shape> out_shapes_;
  std::string describe_;
  int64_t activation_numel_;
};

}  // namespace

void Sequential::add(LayerPtr layer, std::string name) {
  layer_inputs_.push_back(out_shape_);
  out_shape_ = layer->out_shape();
  const size_t i = layers_.size();
  names_.push_back(std::move(name));
  if (i < keep_begin_ || i >= keep_end_) layer = std::make_unique<OtherStagesLayer>(*layer);
  layers_.push_back(std::move(layer));
}

Vars Sequential::apply(Context& ctx, const Vars& xs) {
  Vars h = xs;
  for (auto& l : layers_) h = l->apply(ctx, h);
  return h;
}

std::string Sequential::describe() const {
  std::vector<std::string> parts;
  for (const auto& l : layers_) parts.push_back(l->describe());
  return absl::StrJoin(parts, ", ");
}

std::vector<std::pair<std::string, Var>> Sequential::params() {
  std::vector<std::pair<std::string, Var>> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    add_prefixed(out, prefix(i), layers_[i]->params());
  return out;
}

std::vector<std::pair<std::string, Tensor>> Sequential::buffers() {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < layers_.size(); ++i)
    add_prefixed(out, prefix(i), layers_[i]->buffers());
  return out;
}

std::unique_ptr<Sequential> Sequential::take(size_t begin, size_t end) {
  CHECK(begin <= end && end <= layers_.size()) << "layers [" << begin << ", " << end << ") of " << layers_.size();
  // The shapes were recorded as the layers were added: earlier stages may be taken already.
  auto stage = std::make_unique<Sequential>(begin < layer_inputs_.size() ? layer_inputs_[begin] : out_shape_,
                                            first_index_ + begin);
  for (size_t i = begin; i < end; ++i) stage->add(std::move(layers_[i]), names_[i]);
  return stage;
}

std::string Sequential::prefix(size_t i) const {
  return names_[i].empty() ? absl::StrCat(first_index_ + i, ".") : names_[i] + ".";
}

int64_t Sequential::activation_numel() const {
  int64_t n = 0;
  for (const auto& l : layers_) n += l->activation_numel();
  return n;
}

void Sequential::set_training(bool training) {
  Layer::set_training(training);
  for (auto& l : layers_) l->set_training(training);
}

}  // namespace ty
