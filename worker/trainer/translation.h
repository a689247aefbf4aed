// Translation with a seq2seq model (models/seq2seq.h): greedy and beam search, batched, each
// decoder block keeping a cache of its keys and values so that every output token costs one
// position; and the BLEU and chrF of a held-out split's translations.
//
// Beam search (as fairseq's): per sentence B hypotheses; each step every hypothesis's next
// token log-probabilities are added to its score and the 2B best extensions ranked; those
// among the best B that end in "</s>" are finished, scored log-probability / length^lp
// (length counting "</s>"), and the best B others go on. A sentence is done with B finished
// hypotheses, or at its length limit (a · source tokens + b, within the model's positions),
// where the rest are finished as they stand. Beam 1 is greedy decoding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model.h"
#include "models/text_metrics/bleu.h"
#include "models/text_metrics/chrf.h"
#include "storage/dataset.h"
#include "storage/shard/vocabulary.h"
#include "worker/trainer/strategy.h"

namespace ty {

class AttentionalDecoder;
class BiRecurrentEncoder;
class EncoderNorm;
class Seq2seqEmbedding;
class Seq2seqOutput;
class TransformerBlock;

struct DecodeOptions {
  int64_t beam = 1;
  float length_penalty = 1.f;
  float max_len_a = 1.5f;
  int64_t max_len_b = 10;
  int64_t batch = 64;  // sentences decoded together
};

class Translator {
 public:
  // `model`: built by add_seq2seq (either arch); its dropout is switched off while
  // translating.
  static absl::StatusOr<Translator> create(Context& ctx, Model& model, int32_t bos, int32_t eos);
  // Each source's ids (without "</s>"; longer than the model's positions allow: cut, and
  // counted in truncated()) -> its translation's ids (without "</s>").
  std::vector<std::vector<int32_t>> translate(const std::vector<std::vector<int32_t>>& sources,
                                              const DecodeOptions& options);
  int64_t truncated() const { return truncated_; }

 private:
  Translator(Context& ctx, Model& model, int32_t bos, int32_t eos) : ctx_(&ctx), model_(&model), bos_(bos), eos_(eos) {}
  std::vector<std::vector<int32_t>> translate_batch(const std::vector<std::vector<int32_t>>& sources,
                                                    const DecodeOptions& options);
  Context* ctx_;
  Model* model_;
  int32_t bos_, eos_;
  // source ids (S, Ls) and their lengths -> the memory (S, Ls, ·)
  Var encode(Context& ctx, const Var& src, const Tensor& src_len);
  int64_t context_ = 0;  // the longest sequence the model takes
  Seq2seqEmbedding* embedding_ = nullptr;
  std::vector<TransformerBlock*> encoder_, decoder_;  // transformer
  EncoderNorm* encoder_norm_ = nullptr;
  std::vector<BiRecurrentEncoder*> rnn_encoder_;  // rnn
  AttentionalDecoder* rnn_decoder_ = nullptr;
  Seq2seqOutput* output_ = nullptr;
  int64_t truncated_ = 0;
};

// A split's translations scored against its references: each data share (rank) translates
// every data_world-th pair, the segment statistics are summed over ranks, so every rank
// returns the corpus scores. References are the target records decoded by `vocab`.
struct TranslationScores {
  BleuScore bleu;
  ChrfScore chrf;
  int64_t sentences = 0;
};
absl::StatusOr<TranslationScores> score_translations(Context& ctx, Model& model, const Vocabulary& vocab,
                                                     const Dataset& data, const DecodeOptions& options,
                                                     Strategy& strategy);

// The ids of a record's side up to its first "</s>".
std::vector<int32_t> ids_before_eos(const int32_t* ids, int64_t len, int32_t eos);

}  // namespace ty
