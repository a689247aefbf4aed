#include "worker/trainer/decoder_run.h"

#include <algorithm>

#include "models/layers/rnn_seq2seq.h"
#include "models/layers/transformer_block.h"
#include "runtime/ops/ops.h"

namespace ty {

Tensor i32_host(Shape shape, const std::vector<int32_t>& values) {
  Tensor t = Tensor::empty(host_memory(), std::move(shape), DType::kI32);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

namespace {

// Rows `index` of `table` (rows, width...) -> (index.size(), width...).
Tensor gather_rows(Context& ctx, const Tensor& table, const std::vector<int32_t>& index) {
  const int64_t rows = table.dim(0), width = table.numel() / std::max<int64_t>(rows, 1);
  Shape out = table.shape();
  out[0] = static_cast<int64_t>(index.size());
  const Tensor ids = ctx.to_device(i32_host({static_cast<int64_t>(index.size())}, index));
  return ops::embedding(ctx, ids, Var(table.reshape({rows, width}))).value().reshape(out);
}

// Each row's source sentence (B rows a sentence to start), followed through reorders.
class RowSentences {
 public:
  RowSentences(std::vector<int32_t> source_len, int64_t beam) : source_len_(std::move(source_len)) {
    for (int64_t r = 0; r < static_cast<int64_t>(source_len_.size()) * beam; ++r)
      of_row_.push_back(static_cast<int32_t>(r / beam));
  }
  // After a reorder by `parent`: whether a row's sentence changed (done sentences' rows left).
  bool follow(const std::vector<int32_t>& parent) {
    std::vector<int32_t> next(parent.size());
    for (size_t r = 0; r < parent.size(); ++r) next[r] = of_row_[parent[r]];
    if (next == of_row_) return false;
    of_row_.swap(next);
    return true;
  }
  const std::vector<int32_t>& of_rows() const { return of_row_; }
  int64_t rows() const { return static_cast<int64_t>(of_row_.size()); }
  // Per row: its source's length.
  std::vector<int32_t> lengths() const {
    std::vector<int32_t> len(of_row_.size());
    for (size_t r = 0; r < of_row_.size(); ++r) len[r] = source_len_[of_row_[r]];
    return len;
  }

 private:
  std::vector<int32_t> source_len_, of_row_;
};

// Transformer decoder blocks. Each keeps the keys and values of every position decoded so
// far in a cache that grows by the step's rows; a hypothesis attends to the rows of its own
// ancestry (one index for all blocks, reordered on the host, not the caches), and to its
// sentence's rows of the memory (not copied per beam).
class TransformerRun final : public DecoderRun {
 public:
  TransformerRun(Context& ctx, const std::vector<TransformerBlock*>& blocks, const std::vector<Var>& kv,
                 std::vector<int32_t> source_len, int64_t beam, int64_t steps, DType dtype)
      : blocks_(blocks), sentences_(std::move(source_len), beam), ls_(kv.at(0).shape()[1]) {
    const int64_t s_count = kv[0].shape()[0], rows = sentences_.rows();
    const int64_t d = kv[0].shape()[2] / 2;
    ancestry_.resize(rows);
    for (size_t i = 0; i < blocks.size(); ++i) {
      self_.push_back({ctx.zeros({steps * rows, 3 * d}, dtype), d, 2 * d, Tensor(), Tensor()});
      memory_.push_back({kv[i].value().reshape({s_count * ls_, 2 * d}), 0, d, Tensor(), Tensor()});
    }
    point_at_memory(ctx);
  }
  Var step(Context& ctx, const Var& x_in) override {
    const int64_t rows = static_cast<int64_t>(ancestry_.size()), t = rows > 0 ? ancestry_[0].size() : 0;
    CHECK_LE(first_free_ + rows, self_[0].table.dim(0)) << "decoding past the cache's rows";
    // Every hypothesis's ancestry, its new position last.
    std::vector<int32_t> index(rows * (t + 1));
    for (int64_t r = 0; r < rows; ++r) {
      ancestry_[r].push_back(static_cast<int32_t>(first_free_ + r));
      std::copy(ancestry_[r].begin(), ancestry_[r].end(), index.begin() + r * (t + 1));
    }
    const Tensor self_index = ctx.to_device(i32_host({rows, t + 1}, index));
    const Tensor self_len = ctx.to_device(i32_host({rows}, std::vector<int32_t>(rows, static_cast<int32_t>(t + 1))));
    Var x = x_in;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      self_[i].index = self_index;
      self_[i].len = self_len;
      x = blocks_[i]->decode_step(ctx, x, first_free_, self_[i], memory_[i]);
    }
    first_free_ += rows;
    return x;
  }
  void reorder(Context& ctx, const std::vector<int32_t>& parent) override {
    std::vector<std::vector<int32_t>> next(parent.size());
    for (size_t r = 0; r < parent.size(); ++r) next[r] = ancestry_[parent[r]];
    ancestry_.swap(next);
    if (sentences_.follow(parent)) point_at_memory(ctx);
  }

 private:
  // Row r's keys of the memory: its sentence's.
  void point_at_memory(Context& ctx) {
    const int64_t rows = sentences_.rows();
    std::vector<int32_t> index(rows * ls_);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < ls_; ++j) index[r * ls_ + j] = static_cast<int32_t>(sentences_.of_rows()[r] * ls_ + j);
    const Tensor memory_index = ctx.to_device(i32_host({rows, ls_}, index));
    const Tensor memory_len = ctx.to_device(i32_host({rows}, sentences_.lengths()));
    for (ops::GatheredKeys& m : memory_) {
      m.index = memory_index;
      m.len = memory_len;
    }
  }
  std::vector<TransformerBlock*> blocks_;
  RowSentences sentences_;
  int64_t ls_, first_free_ = 0;                 // the cache's first unwritten row
  std::vector<std::vector<int32_t>> ancestry_;  // per row: the cache row of each of its positions
  std::vector<ops::GatheredKeys> self_, memory_;
};

// An attentional RNN decoder: its cells' states, and each row's copy of its sentence's
// memory keys and values.
class RnnRun final : public DecoderRun {
 public:
  RnnRun(Context& ctx, AttentionalDecoder* decoder, Var kv, std::vector<int32_t> source_len, int64_t beam)
      : decoder_(decoder), kv_(std::move(kv)), sentences_(std::move(source_len), beam) {
    state_ = decoder->initial_state(ctx, sentences_.rows());
    per_row(ctx);
  }
  Var step(Context& ctx, const Var& x) override { return decoder_->step(ctx, x, state_, row_kv_, row_key_len_); }
  void reorder(Context& ctx, const std::vector<int32_t>& parent) override {
    for (Tensor& s : state_)
      if (s.defined()) s = gather_rows(ctx, s, parent);
    if (sentences_.follow(parent)) per_row(ctx);
  }

 private:
  void per_row(Context& ctx) {
    row_kv_ = Var(gather_rows(ctx, kv_.value(), sentences_.of_rows()));
    row_key_len_ = ctx.to_device(i32_host({sentences_.rows()}, sentences_.lengths()));
  }
  AttentionalDecoder* decoder_;
  Var kv_, row_kv_;
  RowSentences sentences_;
  Tensor row_key_len_;
  std::vector<Tensor> state_;
};

}  // namespace

std::unique_ptr<DecoderRun> transformer_run(Context& ctx, const std::vector<TransformerBlock*>& blocks,
                                            const std::vector<Var>& kv, std::vector<int32_t> source_len,
                                            int64_t beam, int64_t steps, DType dtype) {
  return std::make_unique<TransformerRun>(ctx, blocks, kv, std::move(source_len), beam, steps, dtype);
}

std::unique_ptr<DecoderRun> rnn_run(Context& ctx, AttentionalDecoder* decoder, Var kv,
                                    std::vector<int32_t> source_len, int64_t beam) {
  return std::make_unique<RnnRun>(ctx, decoder, std::move(kv), std::move(source_len), beam);
}

}  // namespace ty
