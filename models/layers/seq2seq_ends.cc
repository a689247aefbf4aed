#include "models/layers/seq2seq_ends.h"

#include "absl/strings/str_cat.h"
#include "models/layers/sequential.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

void check_seq2seq_inputs(const Vars& xs, const char* layer) {
  CHECK_EQ(xs.size(), 3u) << layer << " takes [source, source lengths, target], got " << xs.size() << " tensors";
}

}  // namespace

Seq2seqEmbedding::Seq2seqEmbedding(Context& ctx, InitRng& rng, int64_t vocab, int64_t dim, int64_t src_len,
                                   int64_t tgt_len, int64_t context, PositionKind positions, float dropout,
                                   uint32_t dropout_index, DType dtype, double std, int64_t source_vocab)
    : dropout_(dropout), dropout_index_(dropout_index) {
  embedding_ = std::make_unique<TokenEmbedding>(ctx, rng, vocab, dim, std::max(src_len, tgt_len), std, dtype,
                                                context, positions);
  if (source_vocab > 0)
    source_ = std::make_unique<TokenEmbedding>(ctx, rng, source_vocab, dim, std::max(src_len, tgt_len), std, dtype,
                                               context, positions);
  shapes_ = {{src_len, dim}, {}, {tgt_len, dim}};
  out_shape_ = shapes_[0];
}

Vars Seq2seqEmbedding::apply(Context& ctx, const Vars& xs) {
  check_seq2seq_inputs(xs, "the seq2seq embedding");
  const Var src = ops::dropout(ctx, source_table().forward(ctx, xs[0]), dropout_, training_, dropout_index_);
  const Var tgt = ops::dropout(ctx, embedding_->forward(ctx, xs[2]), dropout_, training_, dropout_index_ + 1);
  return {src, xs[1], tgt};
}

std::string Seq2seqEmbedding::describe() const {
  if (source_) return absl::StrCat("source ", source_->describe(), "; target ", embedding_->describe());
  return absl::StrCat("source and target ", embedding_->describe());
}

std::vector<std::pair<std::string, Var>> Seq2seqEmbedding::params() {
  std::vector<std::pair<std::string, Var>> out = embedding_->params();
  if (source_) add_prefixed(out, "source.", source_->params());
  return out;
}

EncoderNorm::EncoderNorm(Context& ctx, const std::vector<Shape>& in, DType dtype) : shapes_(in) {
  CHECK_EQ(in.size(), 3u) << "the encoder norm follows encoder blocks";
  norm_ = std::make_unique<LayerNorm>(ctx, in[0], dtype);
  out_shape_ = in[0];
}

Vars EncoderNorm::apply(Context& ctx, const Vars& xs) {
  check_seq2seq_inputs(xs, "the encoder norm");
  return {norm_->forward(ctx, xs[0]), xs[1], xs[2]};
}

Seq2seqOutput::Seq2seqOutput(Context& ctx, InitRng& rng, const std::vector<Shape>& in, int64_t vocab, const Var* tied,
                             DType dtype, bool norm)
    : tied_(tied != nullptr) {
  CHECK_EQ(in.size(), 3u) << "the seq2seq output follows decoder blocks";
  const Shape& y = in[2];
  if (norm) norm_ = std::make_unique<LayerNorm>(ctx, y, dtype);
  if (tied)
    out_ = std::make_unique<TiedLinear>(*tied, Shape{y[0]});
  else
    out_ = std::make_unique<Linear>(ctx, rng, y[1], vocab, dtype, true, Shape{y[0]});
  out_shape_ = {y[0], vocab};
}

Vars Seq2seqOutput::apply(Context& ctx, const Vars& xs) {
  check_seq2seq_inputs(xs, "the seq2seq output");
  return {logits(ctx, xs[2])};
}

Var Seq2seqOutput::logits(Context& ctx, const Var& y) { return out_->forward(ctx, norm_ ? norm_->forward(ctx, y) : y); }

std::string Seq2seqOutput::describe() const {
  return absl::StrCat(norm_ ? "decoder layer norm, " : "", "logits ", out_shape_[1],
                      tied_ ? " (tied to the embedding)" : "");
}

std::vector<std::pair<std::string, Var>> Seq2seqOutput::params() {
  std::vector<std::pair<std::string, Var>> out;
  if (norm_) add_prefixed(out, "norm.", norm_->params());
  add_prefixed(out, "out.", out_->params());
  return out;
}

}  // namespace ty
