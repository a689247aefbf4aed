#include "models/layers/token_embedding.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

// PE(p, 2i) = sin(p / 10000^(2i/D)), PE(p, 2i+1) = cos(p / 10000^(2i/D)).
Tensor sinusoidal_table(Context& ctx, int64_t context, int64_t dim, DType dtype) {
  if (ctx.shape_only()) return ctx.empty({context, dim}, dtype);
  Tensor t = Tensor::empty(host_memory(), {context, dim}, dtype);
  for (int64_t p = 0; p < context; ++p)
    for (int64_t i = 0; i < dim; ++i) {
      const double angle = double(p) / std::pow(10000.0, double(i - i % 2) / double(dim));
      t.set(p * dim + i, i % 2 == 0 ? std::sin(angle) : std::cos(angle));
    }
  return ctx.to_device(t);
}

}  // namespace

TokenEmbedding::TokenEmbedding(Context& ctx, InitRng& rng, int64_t vocab, int64_t dim, int64_t len, double std,
                               DType dtype, int64_t context, PositionKind positions) {
  table_ = Var(rng.normal(ctx, {vocab, dim}, std, dtype), true);
  if (context > 0) {
    learned_ = positions == PositionKind::kLearned;
    positions_ = learned_ ? Var(rng.normal(ctx, {context, dim}, std, dtype), true)
                          : Var(sinusoidal_table(ctx, context, dim, dtype), false);
  }
  out_shape_ = {len, dim};
}

Var TokenEmbedding::forward(Context& ctx, const Var& x) { return forward_at(ctx, x, 0); }

Var TokenEmbedding::forward_at(Context& ctx, const Var& x, int64_t first) {
  const Tensor ids = ctx.to_device(x.value());
  Var y = ops::embedding(ctx, ids, table_);
  if (!positions_.defined()) return y;
  const int64_t n = ids.shape()[0], len = ids.numel() / std::max<int64_t>(n, 1);
  CHECK_LE(first + len, positions_.shape()[0]) << "positions up to " << first + len << "; the model's context is "
                                               << positions_.shape()[0] << " (model.context)";
  if (first != 0 || !position_ids_.defined() || position_ids_.shape() != ids.shape()) {
    Tensor p = Tensor::empty(host_memory(), ids.shape(), DType::kI32);
    for (int64_t i = 0; i < n * len; ++i) p.data<int32_t>()[i] = static_cast<int32_t>(first + i % len);
    if (first != 0) return ops::add(ctx, y, ops::embedding(ctx, ctx.to_device(p), positions_));
    position_ids_ = ctx.to_device(p);
  }
  return ops::add(ctx, y, ops::embedding(ctx, position_ids_, positions_));
}

std::string TokenEmbedding::describe() const {
  return absl::StrCat("embedding ", table_.shape()[0], " -> ", table_.shape()[1],
                      positions_.defined() ? absl::StrCat(learned_ ? ", learned" : ", sinusoidal", " positions (",
                                                          positions_.shape()[0], ")")
                                           : "");
}

std::vector<std::pair<std::string, Var>> TokenEmbedding::params() {
  std::vector<std::pair<std::string, Var>> p{{"weight", table_}};
  if (learned_) p.emplace_back("positions", positions_);
  return p;
}

}  // namespace ty
