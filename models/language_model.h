// Language models over token sequences (model.kind rnn, transformer): token ids (L) ->
// logits (L, V) over the vocabulary, assembled from the layer files like every model.
#pragma once

#include "absl/status/status.h"
#include "models/layer_registry.h"

namespace ty {

// Appends the model `spec` describes to `net` (whose input is (L) token ids), for a
// vocabulary of `vocab`. Errors name the spec key.
absl::Status add_language_model(LayerBuild& b, const ModelSpec& spec, int64_t vocab, Sequential& net);

}  // namespace ty
