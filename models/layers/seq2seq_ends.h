// The two ends of a sequence-to-sequence model, around its encoder and decoder blocks
// (TransformerBlock), which hand on [source (N, Ls, D), source lengths i32 (N), target (N, Lt, D)]:
//   Seq2seqEmbedding  [source ids (N, Ls), lengths, target ids (N, Lt)] -> token and position
//                     embeddings of both sides from one table (weight, positions), or the
//                     source's from a table of its own (source.weight, source.positions:
//                     separate embeddings, or the source's own vocabulary), dropout;
//   EncoderNorm       the encoder's final layer norm on the source side (the decoder's memory);
//   Seq2seqOutput     the decoder's final layer norm, then logits over the vocabulary ->
//                     [(N, Lt, V)], with its own weights or the embedding table's.
#pragma once

#include <memory>

#include "models/layers/layer_norm.h"
#include "models/layers/linear.h"
#include "models/layers/token_embedding.h"

namespace ty {

class Seq2seqEmbedding final : public Layer {
 public:
  // `dropout_index`: the first of the two dropout indices it takes (source, target).
  // `context` 0: no positions (an RNN's); `std`: the table's initial spread, N(0, std²).
  // `source_vocab` > 0: the source side's own table of that many rows; 0: one table.
  Seq2seqEmbedding(Context& ctx, InitRng& rng, int64_t vocab, int64_t dim, int64_t src_len, int64_t tgt_len,
                   int64_t context, PositionKind positions, float dropout, uint32_t dropout_index, DType dtype,
                   double std = 0.02, int64_t source_vocab = 0);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override { return shapes_; }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  bool embeds() const override { return true; }
  // Decoding: ids (N, T) standing at positions first, first + 1, ... (no dropout).
  Var embed(Context& ctx, const Var& ids, int64_t first) { return embedding_->forward_at(ctx, ids, first); }
  // The source's ids (N, Ls) from position 0 (no dropout).
  Var embed_source(Context& ctx, const Var& ids) { return source_table().forward_at(ctx, ids, 0); }
  // The target's table (the logits tie to it).
  const TokenEmbedding& embedding() const { return *embedding_; }
  // The longest sequence it embeds: its positions, or without positions the records' length.
  int64_t max_len() const { return embedding_->context() > 0 ? embedding_->context() : shapes_[0][0]; }

 private:
  TokenEmbedding& source_table() { return source_ ? *source_ : *embedding_; }
  std::unique_ptr<TokenEmbedding> embedding_, source_;  // source_: null with one table
  float dropout_;
  uint32_t dropout_index_;
  std::vector<Shape> shapes_;
};

class EncoderNorm final : public Layer {
 public:
  EncoderNorm(Context& ctx, const std::vector<Shape>& in, DType dtype);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override { return shapes_; }
  std::string describe() const override { return "encoder layer norm"; }
  std::vector<std::pair<std::string, Var>> params() override { return norm_->params(); }
  // x (N, Ls, D) -> the memory.
  Var norm(Context& ctx, const Var& x) { return norm_->forward(ctx, x); }

 private:
  std::unique_ptr<LayerNorm> norm_;
  std::vector<Shape> shapes_;
};

class Seq2seqOutput final : public Layer {
 public:
  // `tied`: the embedding table (V, D) the logits reuse; null: weights of its own. `norm`:
  // a layer norm first (a Transformer decoder's final norm).
  Seq2seqOutput(Context& ctx, InitRng& rng, const std::vector<Shape>& in, int64_t vocab, const Var* tied,
                DType dtype, bool norm = true);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  // Decoding: y (N, T, D) of the decoder -> logits (N, T, V).
  Var logits(Context& ctx, const Var& y);

 private:
  std::unique_ptr<LayerNorm> norm_;
  std::unique_ptr<Layer> out_;  // Linear or TiedLinear
  bool tied_;
};

}  // namespace ty
