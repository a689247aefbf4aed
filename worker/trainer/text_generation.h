// Text generation from a trained language model: the prompt's tokens, then tokens sampled
// one at a time (temperature, top-k) from the model's next-token distribution, with the
// draws from Philox(seed): the same seed gives the same text. A Transformer keeps every
// block's keys and values (a cache), so each new token runs one position; an RNN reruns
// its window (the data's record length: its training always started from zero states).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "storage/shard/vocabulary.h"

namespace ty {

struct SampleOptions {
  std::string prompt;
  int64_t tokens = 200;      // generated after the prompt
  float temperature = 0.8f;  // 0: always the likeliest token
  int64_t top_k = 0;         // > 0: sample among the k likeliest only
  uint64_t seed = 0;
};

// The prompt and its continuation, decoded. `window`: the data's record length (an RNN's
// context). Errors: an empty prompt, or one with a word the vocabulary lacks.
absl::StatusOr<std::string> generate_text(Context& ctx, Model& model, const Vocabulary& vocab, int64_t window,
                                          const SampleOptions& options);

}  // namespace ty
