// The layer registry: each layer type's builder, registered by name from its own file in
// models/layers/ (TY_REGISTER_LAYER). The names are the rows of worker/job/layer_types.h,
// which the spec reader checks layers against; `build_layers` builds a `model.layers` list
// (and a residual's body) through the registry.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "models/layers/sequential.h"
#include "worker/job/spec.h"

namespace ty {

// What every builder gets: where to build, and the model-wide settings.
struct LayerBuild {
  Context& ctx;
  InitRng& rng;
  DType dtype = DType::kF32;
  bool sync_batch_norm = false;  // model.sync_batch_norm
  uint32_t dropout_layers = 0;   // built so far: the next one's index (models/layers/dropout.h)
};

// Appends the layer `spec` (spec key `key`, e.g. "model.layers[2]", for errors) to `seq`,
// checked against seq.out_shape() (a builder may add more than one layer: linear flattens an
// image first).
using LayerBuilder = absl::Status (*)(LayerBuild& b, const LayerSpec& spec, const std::string& key, Sequential& seq);

// Registers `builder` for `type` (at static initialization; returns true).
bool register_layer(const char* type, LayerBuilder builder);
// The builder of `type`, or null.
LayerBuilder find_layer_builder(std::string_view type);
std::vector<std::string> registered_layer_types();

// Builds `specs` into `seq` in order; errors name `key`[i].
absl::Status build_layers(LayerBuild& b, const std::vector<LayerSpec>& specs, const std::string& key, Sequential& seq);

#define TY_REGISTER_LAYER(type, builder) \
  [[maybe_unused]] static const bool kRegistered_##builder = ::ty::register_layer(type, builder)

}  // namespace ty
