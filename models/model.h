// Model: the network built from a ModelSpec for a given input shape and output count,
// with named parameters and buffers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "models/layers/sequential.h"
#include "worker/job/spec.h"

namespace ty {

class Model {
 public:
  // `name` (optional) qualifies every parameter and buffer name ("generator/0.w"), so that
  // several models live in one process (a GAN's two) with distinct names, as optimizer
  // state keys and in checkpoints. The names are given here, once.
  explicit Model(std::unique_ptr<Sequential> net, std::string name = "");
  // x: (N, input_shape...) -> (N, outputs)
  Var forward(Context& ctx, const Var& x) { return net_->forward(ctx, x); }
  // Several tensors in and out (a pipeline stage's activations).
  Vars apply(Context& ctx, const Vars& xs) { return net_->apply(ctx, xs); }
  void set_training(bool training) { net_->set_training(training); }
  std::vector<std::pair<std::string, Var>> named_params();
  std::vector<Var> params();
  // The parameters by the networks that are updated apart, each in params() order: one per
  // named layer of a model made of named layers (a GAN's generator and discriminator), else
  // one holding every parameter.
  std::vector<std::vector<Var>> param_groups();
  // Per entry of params(): whether weight decay applies to it: all of them with
  // `decay_all`, else only those of 2 or more dimensions outside embedding tables (no decay
  // on biases, norms' scales and shifts, embeddings).
  std::vector<bool> decays(bool decay_all);
  std::vector<std::pair<std::string, Tensor>> buffers();
  // Every saved tensor: parameters then buffers, by name.
  std::vector<std::pair<std::string, Tensor>> state();
  int64_t num_params();
  // Per sample, the elements the layers' outputs hold (Layer::activation_numel).
  int64_t activation_numel() const { return net_->activation_numel(); }
  std::string describe() const { return net_->describe(); }
  size_t num_layers() const { return net_->size(); }
  // Layer i (generation walks the layers itself, to run them position by position).
  Layer& layer(size_t i) { return net_->layer(i); }
  // Per sample, the shapes of the tensors the model hands on (its inputs' when it has no
  // layers).
  std::vector<Shape> out_shapes() const { return net_->out_shapes(); }

  // Cuts `whole` into contiguous stages at layer indices `cuts` (ascending, each in
  // (0, num_layers)): stage s holds layers [cuts[s-1], cuts[s]). Parameters keep their
  // names, so a stage's state is the matching slice of the whole model's.
  static absl::StatusOr<std::vector<std::unique_ptr<Model>>> cut(std::unique_ptr<Model> whole,
                                                                 const std::vector<size_t>& cuts);

 private:
  std::string qualified(const std::string& path) const { return name_.empty() ? path : name_ + "/" + path; }
  std::unique_ptr<Sequential> net_;
  std::string name_;
};

// Builds the model for samples of `input_shape` ((D) or (C, H, W); (L) token ids for a
// language model) and `outputs` logits (a language model's vocabulary, per position).
// Errors name the spec key and the shapes that do not fit.
// `name`: see Model.
// `keep` (a pipeline stage's rank): only layers [keep.first, keep.second) keep their
// parameters (Sequential::keep_only); they take the values a whole build gives them.
absl::StatusOr<std::unique_ptr<Model>> build_model(Context& ctx, const ModelSpec& spec, const Shape& input_shape,
                                                   int64_t outputs, uint64_t seed, DType dtype = DType::kF32,
                                                   const std::string& name = "",
                                                   std::pair<size_t, size_t> keep = {0, SIZE_MAX});

}  // namespace ty
