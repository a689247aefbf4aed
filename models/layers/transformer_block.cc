#include "models/layers/transformer_block.h"

#include "absl/strings/str_cat.h"
#include "models/layers/sequential.h"
#include "runtime/ops/ops.h"

namespace ty {

TransformerBlock::TransformerBlock(Context& ctx, InitRng& rng, const Shape& in, int64_t heads, int64_t d_ff,
                                   float dropout, uint32_t dropout_index, DType dtype, Role role, int64_t other_len)
    : role_(role), heads_(heads), d_ff_(d_ff), memory_len_(role == Role::kDecoder ? other_len : 0), dropout_(dropout),
      dropout_index_(dropout_index) {
  CHECK_EQ(in.size(), 2u) << "a transformer block takes (T, D) sequences, got " << shape_str(in);
  const int64_t t = in[0], d = in[1];
  ln1_ = std::make_unique<LayerNorm>(ctx, in, dtype);
  qkv_ = std::make_unique<Linear>(ctx, rng, d, 3 * d, dtype, true, Shape{t});
  proj_ = std::make_unique<Linear>(ctx, rng, d, d, dtype, true, Shape{t});
  if (role == Role::kDecoder) {
    CHECK_GT(other_len, 0) << "a decoder block needs the memory's length";
    const int64_t memory_len = other_len;
    cross_ln_ = std::make_unique<LayerNorm>(ctx, in, dtype);
    cross_q_ = std::make_unique<Linear>(ctx, rng, d, d, dtype, true, Shape{t});
    cross_kv_ = std::make_unique<Linear>(ctx, rng, d, 2 * d, dtype, true, Shape{memory_len});
    cross_proj_ = std::make_unique<Linear>(ctx, rng, d, d, dtype, true, Shape{t});
  }
  ln2_ = std::make_unique<LayerNorm>(ctx, in, dtype);
  fc1_ = std::make_unique<Linear>(ctx, rng, d, d_ff, dtype, true, Shape{t});
  fc2_ = std::make_unique<Linear>(ctx, rng, d_ff, d, dtype, true, Shape{t});
  out_shape_ = in;
  if (role == Role::kCausal)
    shapes_ = {in};
  else if (role == Role::kEncoder)
    shapes_ = {in, {}, {other_len, d}};
  else
    shapes_ = {{other_len, d}, {}, in};
}

Var TransformerBlock::residual_branches(Context& ctx, const Var& x, const Attend& a) {
  const Var qkv = qkv_->forward(ctx, ln1_->forward(ctx, x));
  const int64_t d = x.shape().back();
  Var att;
  if (a.self) {
    const int64_t rows = x.shape()[0];
    const Tensor qkv_rows = qkv.value().reshape({rows, 3 * d});
    a.self->table.rows(a.first_row, rows).copy_from(qkv_rows);
    att = Var(ops::gathered_attention(ctx, qkv_rows, *a.self, d, heads_).reshape({rows, 1, d}));
  } else if (a.cache)
    att = Var(ops::cached_causal_self_attention(ctx, qkv.value(), heads_, *a.cache, *a.len));
  else if (role_ == Role::kEncoder)
    att = ops::self_attention(ctx, qkv, heads_, false, a.key_len);
  else
    att = ops::causal_self_attention(ctx, qkv, heads_);
  Var h = ops::add(ctx, x, ops::dropout(ctx, proj_->forward(ctx, att), dropout_, training_, dropout_index_));
  if (role_ == Role::kDecoder) {
    const Var q = cross_q_->forward(ctx, cross_ln_->forward(ctx, h));
    const int64_t rows = q.shape()[0];
    const Var cross = a.memory ? Var(ops::gathered_attention(ctx, q.value().reshape({rows, d}), *a.memory, d, heads_)
                                         .reshape({rows, 1, d}))
                               : ops::cross_attention(ctx, q, *a.kv, heads_, a.key_len);
    h = ops::add(ctx, h, ops::dropout(ctx, cross_proj_->forward(ctx, cross), dropout_, training_, dropout_index_ + 2));
  }
  const Var mlp = fc2_->forward(ctx, ops::gelu(ctx, fc1_->forward(ctx, ln2_->forward(ctx, h))));
  return ops::add(ctx, h, ops::dropout(ctx, mlp, dropout_, training_, dropout_index_ + 1));
}

Var TransformerBlock::forward(Context& ctx, const Var& x) {
  CHECK(role_ == Role::kCausal) << "an encoder or decoder block takes [source, lengths, target] (apply)";
  return residual_branches(ctx, x, {});
}

Vars TransformerBlock::apply(Context& ctx, const Vars& xs) {
  if (role_ == Role::kCausal) return Layer::apply(ctx, xs);
  CHECK_EQ(xs.size(), 3u) << "a seq2seq block takes [source, source lengths, target]";
  Vars ys = xs;
  const Tensor& key_len = xs[1].value();
  if (role_ == Role::kEncoder) {
    ys[0] = encode(ctx, xs[0], key_len);
  } else {
    const Var kv = memory_kv(ctx, xs[0]);
    ys[2] = residual_branches(ctx, xs[2], {&key_len, &kv});
  }
  return ys;
}

Var TransformerBlock::encode(Context& ctx, const Var& x, const Tensor& key_len) {
  return residual_branches(ctx, x, {&key_len});
}

Var TransformerBlock::memory_kv(Context& ctx, const Var& memory) {
  CHECK(role_ == Role::kDecoder) << "only a decoder block attends to a memory";
  return cross_kv_->forward(ctx, memory);
}

Var TransformerBlock::forward_cached(Context& ctx, const Var& x, Tensor& cache, int64_t& len) {
  CHECK(role_ == Role::kCausal) << "only a causal block generates from a cache (a decoder block: decode_step)";
  Attend a;
  a.cache = &cache;
  a.len = &len;
  return residual_branches(ctx, x, a);
}

Var TransformerBlock::decode_step(Context& ctx, const Var& x, int64_t first_row, const ops::GatheredKeys& self,
                                  const ops::GatheredKeys& memory) {
  CHECK(role_ == Role::kDecoder) << "only a decoder block decodes against a memory";
  CHECK(x.shape().size() == 3 && x.shape()[1] == 1) << "decode_step takes one position (R, 1, D), got "
                                                    << shape_str(x.shape());
  CHECK_LE(first_row + x.shape()[0], self.table.dim(0)) << "the decoding cache holds " << self.table.dim(0) << " rows";
  Attend a;
  a.self = &self;
  a.memory = &memory;
  a.first_row = first_row;
  return residual_branches(ctx, x, a);
}

std::string TransformerBlock::describe() const {
  const char* kind = role_ == Role::kEncoder ? "encoder" : role_ == Role::kDecoder ? "decoder" : "transformer";
  return absl::StrCat(kind, " block ", out_shape_[1], ", ", heads_, " heads, mlp ", d_ff_);
}

std::vector<std::pair<std::string, Var>> TransformerBlock::params() {
  std::vector<std::pair<std::string, Var>> out;
  add_prefixed(out, "ln1.", ln1_->params());
  add_prefixed(out, "qkv.", qkv_->params());
  add_prefixed(out, "proj.", proj_->params());
  if (role_ == Role::kDecoder) {
    add_prefixed(out, "cross_ln.", cross_ln_->params());
    add_prefixed(out, "cross_q.", cross_q_->params());
    add_prefixed(out, "cross_kv.", cross_kv_->params());
    add_prefixed(out, "cross_proj.", cross_proj_->params());
  }
  add_prefixed(out, "ln2.", ln2_->params());
  add_prefixed(out, "fc1.", fc1_->params());
  add_prefixed(out, "fc2.", fc2_->params());
  return out;
}

void TransformerBlock::set_training(bool training) {
  Layer::set_training(training);
  for (Layer* l : std::initializer_list<Layer*>{ln1_.get(), qkv_.get(), proj_.get(), ln2_.get(), fc1_.get(),
                                                fc2_.get(), cross_ln_.get(), cross_q_.get(), cross_kv_.get(),
                                                cross_proj_.get()})
    if (l) l->set_training(training);
}

int64_t TransformerBlock::activation_numel() const {
  const int64_t t = out_shape_[0], d = out_shape_[1];
  // norms, qkv, q/k/v per head, weights (T × T per head), attention out, projection,
  // residual, MLP hidden (twice: before and after GELU), MLP out, residual.
  int64_t n = t * (2 * d + 3 * d + 3 * d + heads_ * t + 2 * d + d + 2 * d_ff_ + 2 * d);
  // A decoder's cross-attention: norm, queries (and per head), weights (T × Ls per head),
  // output, projection, residual; the memory's keys and values (and per head).
  if (role_ == Role::kDecoder) n += t * (6 * d + heads_ * memory_len_) + 4 * memory_len_ * d;
  return n;
}

}  // namespace ty
