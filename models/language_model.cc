#include "models/language_model.h"

#include "absl/strings/str_cat.h"
#include "models/layers/dropout.h"
#include "models/layers/layer_norm.h"
#include "models/layers/linear.h"
#include "models/layers/recurrent.h"
#include "models/layers/token_embedding.h"
#include "models/layers/transformer_block.h"
#include "runtime/status.h"

namespace ty {
namespace {

// The logits layer: its own weights, or the embedding table's.
absl::Status add_logits(LayerBuild& b, const ModelSpec& spec, const TokenEmbedding& embedding, int64_t vocab,
                        Sequential& net) {
  const Shape in = net.out_shape();
  if (!spec.tie_embeddings) {
    net.add(std::make_unique<Linear>(b.ctx, b.rng, in[1], vocab, b.dtype, true, Shape{in[0]}));
    return absl::OkStatus();
  }
  if (embedding.table().shape()[1] != in[1])
    return absl::InvalidArgumentError(absl::StrCat("model.tie_embeddings: the embedding is ",
                                                   embedding.table().shape()[1], " wide, the last layer gives ", in[1],
                                                   " (set model.embed to model.hidden_size)"));
  net.add(std::make_unique<TiedLinear>(embedding.table(), Shape{in[0]}));
  return absl::OkStatus();
}

// Embedding, dropout, LSTM or GRU cells with dropout after each, logits (the layout of
// PyTorch's word_language_model example).
absl::Status add_rnn(LayerBuild& b, const ModelSpec& spec, int64_t len, int64_t vocab, Sequential& net) {
  const int64_t embed = spec.embed > 0 ? spec.embed : spec.hidden_size;
  auto embedding = std::make_unique<TokenEmbedding>(b.ctx, b.rng, vocab, embed, len, 1.0, b.dtype);
  const TokenEmbedding& table = *embedding;
  net.add(std::move(embedding));
  TY_RETURN_IF_ERROR(add_dropout(b, "model.dropout", spec.dropout, net));
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    net.add(std::make_unique<Recurrent>(b.ctx, b.rng, spec.cell, net.out_shape(), spec.hidden_size, b.dtype));
    TY_RETURN_IF_ERROR(add_dropout(b, "model.dropout", spec.dropout, net));
  }
  return add_logits(b, spec, table, vocab, net);
}

// Token and position embeddings, dropout, pre-norm blocks, a final norm, logits (GPT-2's
// layout; embeddings N(0, 0.02²), linear layers PyTorch's default).
absl::Status add_transformer(LayerBuild& b, const ModelSpec& spec, int64_t len, int64_t vocab, Sequential& net) {
  if (spec.d_model % spec.heads != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("model.heads: ", spec.heads, " does not divide model.d_model ", spec.d_model));
  const int64_t context = spec.context > 0 ? spec.context : len;
  if (context < len)
    return absl::InvalidArgumentError(absl::StrCat("model.context: ", context,
                                                   " positions, but the data's records hold ", len,
                                                   " tokens; set it to at least ", len, " or leave it out"));
  auto embedding =
      std::make_unique<TokenEmbedding>(b.ctx, b.rng, vocab, spec.d_model, len, 0.02, b.dtype, context, spec.positions);
  const TokenEmbedding& table = *embedding;
  net.add(std::move(embedding));
  TY_RETURN_IF_ERROR(add_dropout(b, "model.dropout", spec.dropout, net));
  const int64_t d_ff = spec.d_ff > 0 ? spec.d_ff : 4 * spec.d_model;
  for (int64_t i = 0; i < spec.num_layers; ++i) {
    net.add(std::make_unique<TransformerBlock>(b.ctx, b.rng, net.out_shape(), spec.heads, d_ff, spec.dropout,
                                               b.dropout_layers, b.dtype));
    b.dropout_layers += 2;
  }
  net.add(std::make_unique<LayerNorm>(b.ctx, net.out_shape(), b.dtype));
  return add_logits(b, spec, table, vocab, net);
}

}  // namespace

absl::Status add_language_model(LayerBuild& b, const ModelSpec& spec, int64_t vocab, Sequential& net) {
  const Shape in = net.out_shape();
  if (in.size() != 1)
    return absl::InvalidArgumentError(absl::StrCat("model.kind: ", name_of(spec.kind),
                                                   " needs token data (data import text); the data has samples of "
                                                   "shape ",
                                                   shape_str(in)));
  if (spec.kind == ModelKind::kRnn) return add_rnn(b, spec, in[0], vocab, net);
  return add_transformer(b, spec, in[0], vocab, net);
}

}  // namespace ty
