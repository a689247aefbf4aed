// Reads YAML values into the fields the key table binds, and checks a document's keys:
// each error names the full key path and what is allowed (wrong types, values out of
// range, choices outside their list, unknown, duplicate or non-scalar keys).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "worker/job/keys.h"
#include "yaml-cpp/yaml.h"

namespace ty {

// Reads `n` (a scalar or list, as the field needs) into `f`; `key` names it in errors.
absl::Status read_value(const YAML::Node& n, const std::string& key, const FieldRef& f, const Range& r);

// The node at a dotted path under `root` (an undefined node when any part is missing).
YAML::Node node_at(const YAML::Node& root, const std::string& path);

// Checks every map in `doc` whose keys the table knows: each key a plain scalar, none
// twice, none unknown. `leaves` are the full key paths of values (lists of structs
// included: their elements are checked by check_element_keys).
absl::Status check_keys(const YAML::Node& doc, const std::vector<std::string>& leaves);

// The same for one map element of a list of structs (`where`: "model.conv[2]").
absl::Status check_element_keys(const YAML::Node& map, const std::string& where, const std::vector<std::string>& keys);

// "'x'", "a list", "a map": what a node is, for error messages.
std::string describe(const YAML::Node& n);

}  // namespace ty
