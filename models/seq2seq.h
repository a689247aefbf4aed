// Sequence-to-sequence models (model.kind seq2seq) over token pairs (data import parallel):
// source ids (Ls) and target ids (Lt) -> logits (Lt, V) over one joint vocabulary, assembled
// from the layer files like every model.
#pragma once

#include "absl/status/status.h"
#include "models/layer_registry.h"

namespace ty {

// Appends a Transformer encoder-decoder (model.arch transformer) or an attentional RNN one
// (rnn) to `net`, whose input is [source ids, source lengths,
// target ids] with source and target records of `len` tokens. Errors name the spec key.
absl::Status add_seq2seq(LayerBuild& b, const ModelSpec& spec, int64_t len, int64_t vocab, Sequential& net);

}  // namespace ty
