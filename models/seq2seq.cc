#include "models/seq2seq.h"

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "models/layers/rnn_seq2seq.h"
#include "models/layers/seq2seq_ends.h"
#include "models/layers/sequential.h"
#include "models/layers/transformer_block.h"

namespace ty {

namespace {

// The rows of the source's own embedding table; 0: it shares the target's.
absl::StatusOr<int64_t> source_table_rows(const ModelSpec& spec, int64_t vocab) {
  if (spec.embeddings == Seq2seqEmbeddings::kShared && spec.source_vocab > 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "model.embeddings: shared, but the pairs have a vocabulary per side (source ", spec.source_vocab,
        " pieces, target ", vocab, "); set separate or auto"));
  if (spec.source_vocab > 0) return spec.source_vocab;
  return spec.embeddings == Seq2seqEmbeddings::kSeparate ? vocab : 0;
}

absl::Status check_dropout(float p) {
  if (!(p >= 0.f && p < 1.f))
    return absl::InvalidArgumentError(absl::StrCat("model.dropout: must be in [0, 1), got ", p));
  return absl::OkStatus();
}

// Embeddings (N(0, 1) as PyTorch's nn.Embedding, no positions), bidirectional encoder
// layers, an attentional decoder, logits.
absl::Status add_rnn_seq2seq(LayerBuild& b, const ModelSpec& spec, int64_t len, int64_t vocab, Sequential& net) {
  TY_RETURN_IF_ERROR(check_dropout(spec.dropout));
  if (spec.tie_embeddings)
    return absl::InvalidArgumentError("model.tie_embeddings: for model.arch transformer (an rnn seq2seq has untied logits)");
  const int64_t enc = spec.encoder_layers > 0 ? spec.encoder_layers : spec.num_layers;
  const int64_t dec = spec.decoder_layers > 0 ? spec.decoder_layers : spec.num_layers;
  const int64_t embed = spec.embed > 0 ? spec.embed : spec.hidden_size;
  TY_ASSIGN_OR_RETURN(const int64_t source_vocab, source_table_rows(spec, vocab));
  net.add(std::make_unique<Seq2seqEmbedding>(b.ctx, b.rng, vocab, embed, len, len, 0, spec.positions, spec.dropout,
                                             b.dropout_layers, b.dtype, 1.0, source_vocab));
  b.dropout_layers += 2;
  for (int64_t i = 0; i < enc; ++i)
    net.add(std::make_unique<BiRecurrentEncoder>(b.ctx, b.rng, spec.cell, net.out_shapes(), spec.hidden_size,
                                                 spec.dropout, b.dropout_layers++, b.dtype));
  net.add(std::make_unique<AttentionalDecoder>(b.ctx, b.rng, spec.cell, net.out_shapes(), spec.hidden_size, dec,
                                               spec.dropout, b.dropout_layers, b.dtype));
  b.dropout_layers += AttentionalDecoder::dropout_count(dec);
  net.add(std::make_unique<Seq2seqOutput>(b.ctx, b.rng, net.out_shapes(), vocab, nullptr, b.dtype, false));
  return absl::OkStatus();
}

}  // namespace

// Transformer: embeddings (N(0, 0.02²), positions learned or sinusoidal), pre-norm encoder
// blocks and a final norm, pre-norm decoder blocks, a final norm and the logits (the layout
// of fairseq's transformer with normalize_before, and of torch.nn.Transformer(norm_first=True)).
absl::Status add_seq2seq(LayerBuild& b, const ModelSpec& spec, int64_t len, int64_t vocab, Sequential& net) {
  if (spec.arch == Seq2seqArch::kRnn) return add_rnn_seq2seq(b, spec, len, vocab, net);
  if (spec.d_model % spec.heads != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("model.heads: ", spec.heads, " does not divide model.d_model ", spec.d_model));
  const int64_t context = spec.context > 0 ? spec.context : len;
  if (context < len)
    return absl::InvalidArgumentError(absl::StrCat("model.context: ", context, " positions, but the data's records hold ",
                                                   len, " tokens a side; set it to at least ", len, " or leave it out"));
  TY_RETURN_IF_ERROR(check_dropout(spec.dropout));
  const int64_t enc = spec.encoder_layers > 0 ? spec.encoder_layers : spec.num_layers;
  const int64_t dec = spec.decoder_layers > 0 ? spec.decoder_layers : spec.num_layers;
  const int64_t d = spec.d_model, d_ff = spec.d_ff > 0 ? spec.d_ff : 4 * d;
  TY_ASSIGN_OR_RETURN(const int64_t source_vocab, source_table_rows(spec, vocab));
  auto embedding = std::make_unique<Seq2seqEmbedding>(b.ctx, b.rng, vocab, d, len, len, context, spec.positions,
                                                      spec.dropout, b.dropout_layers, b.dtype, 0.02, source_vocab);
  b.dropout_layers += 2;
  const Var table = embedding->embedding().table();
  net.add(std::move(embedding));
  using Role = TransformerBlock::Role;
  for (int64_t i = 0; i < enc; ++i) {
    net.add(std::make_unique<TransformerBlock>(b.ctx, b.rng, Shape{len, d}, spec.heads, d_ff, spec.dropout,
                                               b.dropout_layers, b.dtype, Role::kEncoder, len));
    b.dropout_layers += TransformerBlock::dropout_count(Role::kEncoder);
  }
  net.add(std::make_unique<EncoderNorm>(b.ctx, net.out_shapes(), b.dtype));
  for (int64_t i = 0; i < dec; ++i) {
    net.add(std::make_unique<TransformerBlock>(b.ctx, b.rng, Shape{len, d}, spec.heads, d_ff, spec.dropout,
                                               b.dropout_layers, b.dtype, Role::kDecoder, len));
    b.dropout_layers += TransformerBlock::dropout_count(Role::kDecoder);
  }
  net.add(std::make_unique<Seq2seqOutput>(b.ctx, b.rng, net.out_shapes(), vocab,
                                          spec.tie_embeddings ? &table : nullptr, b.dtype));
  return absl::OkStatus();
}

}  // namespace ty
