// The layer types a `model.layers` list may name, as one table: each type's name, the layer
// keys it takes (from layer_keys()), the ones it requires, whether it has a body of layers,
// and its meaning. The parser checks each layer against its row; the README lists the rows
// (`trainyard help spec`). A type's implementation is one file in models/layers/ that
// registers a builder under the same name (a models test fails when a row has no builder or
// a builder no row). This table lives here, not in models/, so that the coordinator checks
// layer lists without linking the models.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ty {

struct LayerTypeInfo {
  const char* name;
  std::vector<std::string_view> keys;      // layer keys it takes besides `type`
  std::vector<std::string_view> required;  // of those, the ones it must have
  bool body = false;                       // takes `layers:` (a nested list)
  const char* meaning = "";
};

const std::vector<LayerTypeInfo>& layer_types();
// The row of `name`, or null.
const LayerTypeInfo* find_layer_type(std::string_view name);
// "`linear`, `conv2d`, ...": every type, for errors.
std::string layer_type_names();
// "linear, conv2d": the types that take layer key `key`.
std::string layer_types_taking(std::string_view key);

}  // namespace ty
