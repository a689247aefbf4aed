// The job spec's keys as one table: each key's path, type, range or choices, default and
// meaning, bound to the field it fills. The parser reads every key through it, its error
// messages quote it, and the README's spec reference is rendered from it
// (`trainyard help spec`; a test fails when the README and this table disagree).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "worker/job/enums.h"
#include "worker/job/spec.h"

namespace ty {

// A field of an enumerated type, reached without knowing the type.
struct EnumRef {
  void* field;
  std::vector<const char*> names;
  int (*get)(const void*);
  void (*set)(void*, int);
};

template <typename E>
EnumRef enum_ref(E& e) {
  return {&e,
          {kEnumNames<E>.begin(), kEnumNames<E>.end()},
          [](const void* p) { return static_cast<int>(*static_cast<const E*>(p)); },
          [](void* p, int v) { *static_cast<E*>(p) = static_cast<E>(v); }};
}

// What a key fills. Lists of structs (model.conv, model.layers) have tables of their own.
using FieldRef = std::variant<std::string*, bool*, int64_t*, uint64_t*, float*, std::vector<int64_t>*,
                              std::vector<float>*, EnumRef, PartitionSpec*>;

// Numbers: the allowed interval. Lists of numbers: each element's; `count` > 0 fixes the length.
struct Range {
  double lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;
  size_t count = 0;
};

template <typename T>
struct Key {
  const char* path;  // "data.batch_size"; inside a list of structs, relative to an element
  FieldRef (*field)(T&);
  Range range;
  const char* meaning;
  const char* default_text = "";  // when the default is not a plain value ("file name")
};

const std::vector<Key<JobSpec>>& job_keys();
const std::vector<Key<ConvBlockSpec>>& conv_block_keys();  // model.conv[]
const std::vector<Key<LayerSpec>>& layer_keys();           // model.layers[] (the types: layer_types.h)

// Keys that hold a list of structs, each element read through the tables above.
inline constexpr char kConvBlocksKey[] = "model.conv";
inline constexpr char kLayersKey[] = "model.layers";
inline constexpr char kResidualBodyKey[] = "layers";  // model.layers[].layers: a residual's body
// gan: `dcgan` (the built-in network) or a list of layers, read like model.layers.
inline constexpr char kGeneratorKey[] = "model.generator";
inline constexpr char kDiscriminatorKey[] = "model.discriminator";
// A map of environment variables for the job's ranks (JobSpec::env).
inline constexpr char kEnvKey[] = "env";

// Renders a field's value as a spec writes it ("0.001", "[256, 256]", "relu").
std::string value_text(const FieldRef& f);
// What a field of this kind may hold: "(0, 1000]", "1 to 64", "sgd, adam, adamw", "true or false".
std::string allowed_text(const FieldRef& f, const Range& r);

// The spec reference as Markdown rows: `| key | default | allowed | meaning |`.
std::string spec_reference_markdown();

}  // namespace ty
