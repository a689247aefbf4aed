#include "worker/job/layer_types.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {

const std::vector<LayerTypeInfo>& layer_types() {
  static const std::vector<LayerTypeInfo> types = {
      {"linear", {"out"}, {"out"}, false, "(D) -> (out); a 3-D input is flattened first"},
      {"conv2d", {"out", "kernel", "stride", "padding", "bias"}, {"out"}, false, "(C, H, W) -> (out, H', W')"},
      {"conv_transpose2d",
       {"out", "kernel", "stride", "padding", "output_padding", "bias"},
       {"out"},
       false,
       "(C, H, W) -> (out, (H - 1) * stride - 2 * padding + kernel + output_padding, likewise W): the transpose of "
       "conv2d, an upsampling convolution"},
      {"maxpool", {"size", "stride"}, {}, false, "(C, H, W) -> (C, H', W'), the maximum of each window"},
      {"avgpool", {"size", "stride"}, {}, false, "(C, H, W) -> (C, H', W'), the mean of each window"},
      {"relu", {}, {}, false, "elementwise max(x, 0)"},
      {"leaky_relu", {"slope"}, {}, false, "elementwise x, or slope * x below 0"},
      {"gelu", {}, {}, false, "elementwise GELU (erf form)"},
      {"tanh", {}, {}, false, "elementwise tanh"},
      {"sigmoid", {}, {}, false, "elementwise logistic sigmoid"},
      {"dropout", {"p"}, {}, false, "zeroes elements with probability p while training"},
      {"flatten", {}, {}, false, "(C, H, W) -> (C*H*W)"},
      {"reshape", {"shape"}, {"shape"}, false, "(...) -> (shape), the same number of elements"},
      {"sleep",
       {"forward_ms", "backward_ms"},
       {},
       false,
       "identity that sleeps forward_ms in its forward and backward_ms in its backward: a stage of known cost "
       "for timing pipelines"},
      {"batchnorm", {}, {}, false, "normalizes each channel over the batch (model.sync_batch_norm: over all ranks)"},
      {"layernorm", {}, {}, false, "normalizes each sample over its last axis"},
      {"residual",
       {},
       {},
       true,
       "y = body(x) + x; a 1x1 convolution on the skip path where the body changes the shape"},
  };
  return types;
}

const LayerTypeInfo* find_layer_type(std::string_view name) {
  for (const LayerTypeInfo& t : layer_types())
    if (name == t.name) return &t;
  return nullptr;
}

std::string layer_type_names() {
  std::vector<std::string> names;
  for (const LayerTypeInfo& t : layer_types()) names.push_back(absl::StrCat("`", t.name, "`"));
  return absl::StrJoin(names, ", ");
}

std::string layer_types_taking(std::string_view key) {
  std::vector<std::string> names;
  for (const LayerTypeInfo& t : layer_types())
    if (std::find(t.keys.begin(), t.keys.end(), key) != t.keys.end()) names.emplace_back(t.name);
  return absl::StrJoin(names, ", ");
}

}  // namespace ty
