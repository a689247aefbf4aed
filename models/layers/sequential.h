// Sequential: layers applied in order, the outputs of each the inputs of the next. Layer i's
// parameters are named "i.<name>", or "<given name>.<name>" for a layer added with a name (a
// GAN's "generator" and "discriminator"); a stage cut from a longer Sequential keeps the
// indices of the whole (`first_index`).
#pragma once

#include "models/layer.h"

namespace ty {

class Sequential final : public Layer {
 public:
  explicit Sequential(const Shape& in, size_t first_index = 0) : first_index_(first_index) { out_shape_ = in; }
  void add(LayerPtr layer, std::string name = "");
  // For a pipeline stage's rank: layers added from now on at indices outside [begin, end)
  // keep only their shapes and description, their parameters freed as they are added, so
  // that the rank never holds more than its stage and one other layer.
  void keep_only(size_t begin, size_t end) {
    keep_begin_ = begin;
    keep_end_ = end;
  }
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override {
    return layers_.empty() ? std::vector<Shape>{out_shape_} : layers_.back()->out_shapes();
  }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  std::vector<std::pair<std::string, Tensor>> buffers() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override;
  size_t size() const { return layers_.size(); }
  Layer& layer(size_t i) { return *layers_[i]; }
  // Layer i's given name ("" when its index names it).
  const std::string& name(size_t i) const { return names_[i]; }
  // Moves layers [begin, end) into a new Sequential that keeps their indices (and so their
  // parameter names); this one is left without them.
  std::unique_ptr<Sequential> take(size_t begin, size_t end);

 private:
  size_t first_index_;
  size_t keep_begin_ = 0, keep_end_ = SIZE_MAX;
  std::vector<LayerPtr> layers_;
  std::vector<std::string> names_;  // each layer's given name, or empty (its index names it)
  // Layer i's parameter prefix: "3." or "generator.".
  std::string prefix(size_t i) const;
  std::vector<Shape> layer_inputs_;  // the shape flowing into each layer
};

// Appends `in`'s entries to `out`, their names prefixed.
void add_prefixed(std::vector<std::pair<std::string, Var>>& out, const std::string& prefix,
                  std::vector<std::pair<std::string, Var>> in);
void add_prefixed(std::vector<std::pair<std::string, Tensor>>& out, const std::string& prefix,
                  std::vector<std::pair<std::string, Tensor>> in);

}  // namespace ty
