#include "models/layer_registry.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"

namespace ty {
namespace {

std::map<std::string, LayerBuilder, std::less<>>& registry() {
  static std::map<std::string, LayerBuilder, std::less<>> r;
  return r;
}

}  // namespace

bool register_layer(const char* type, LayerBuilder builder) {
  CHECK(registry().emplace(type, builder).second) << "layer type " << type << " registered twice";
  return true;
}

LayerBuilder find_layer_builder(std::string_view type) {
  auto it = registry().find(type);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> registered_layer_types() {
  std::vector<std::string> out;
  for (const auto& [name, builder] : registry()) out.push_back(name);
  return out;
}

absl::Status build_layers(LayerBuild& b, const std::vector<LayerSpec>& specs, const std::string& key, Sequential& seq) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string at = absl::StrCat(key, "[", i, "]");
    LayerBuilder build = find_layer_builder(specs[i].type);
    if (!build)  // the spec reader knows the type (worker/job/layer_types.h) but no file registers it
      return absl::UnimplementedError(absl::StrCat(at, ".type: ", specs[i].type, " has no builder in this build"));
    TY_RETURN_IF_ERROR(build(b, specs[i], at, seq));
  }
  return absl::OkStatus();
}

}  // namespace ty
