// TokenEmbedding: token ids i32 (L) -> (L, D), each id's row of a (V, D) table, plus its
// position's row of a position table when the model has one (learned, or sinusoidal and
// fixed as in "Attention Is All You Need"). The first layer of a language model.
#pragma once

#include "models/layer.h"
#include "worker/job/enums.h"

namespace ty {

class TokenEmbedding final : public Layer {
 public:
  // `len`: the sequence length of the data; `context` (>= len): the positions the table holds
  // (0: none). `std`: the token table's initial spread, N(0, std²).
  TokenEmbedding(Context& ctx, InitRng& rng, int64_t vocab, int64_t dim, int64_t len, double std, DType dtype,
                 int64_t context = 0, PositionKind positions = PositionKind::kLearned);
  Var forward(Context& ctx, const Var& ids) override;
  // Generation: ids (1, T) standing at positions first, first + 1, ... (past the cache).
  Var forward_at(Context& ctx, const Var& ids, int64_t first);
  // The positions the model has (its context), 0 without positions (an RNN's).
  int64_t context() const { return positions_.defined() ? positions_.shape()[0] : 0; }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  bool embeds() const override { return true; }
  // The token table (V, D): an output layer tied to it shares it.
  const Var& table() const { return table_; }

 private:
  Var table_, positions_;  // positions_: (context, D), undefined without positions
  bool learned_ = false;
  Tensor position_ids_;  // i32 (N, L) on the device, kept for the last batch size
};

}  // namespace ty
