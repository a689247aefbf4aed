#include "models/layers/rnn_seq2seq.h"

#include "absl/strings/str_cat.h"
#include "models/layers/sequential.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

// x (N, L, E) with each sequence's first key_len[n] positions reversed, the rest in place.
Var reverse_within_length(Context& ctx, const Var& x, const Tensor& key_len_in) {
  const int64_t n = x.shape()[0], len = x.shape()[1], e = x.shape()[2];
  const Tensor key_len = key_len_in.host();
  Tensor index = Tensor::empty(host_memory(), {n * len}, DType::kI32);
  int32_t* idx = index.data<int32_t>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t real = std::clamp<int64_t>(key_len.data<int32_t>()[r], 0, len);
    for (int64_t t = 0; t < len; ++t) idx[r * len + t] = static_cast<int32_t>(r * len + (t < real ? real - 1 - t : t));
  }
  const Var rows = ops::reshape(ctx, x, {n * len, e});
  return ops::reshape(ctx, ops::embedding(ctx, ctx.to_device(index), rows), {n, len, e});
}

void check_inputs(const Vars& xs, const char* layer) {
  CHECK_EQ(xs.size(), 3u) << layer << " takes [source, source lengths, target], got " << xs.size() << " tensors";
}

}  // namespace

BiRecurrentEncoder::BiRecurrentEncoder(Context& ctx, InitRng& rng, RnnCell cell, const std::vector<Shape>& in,
                                       int64_t hidden, float dropout, uint32_t dropout_index, DType dtype)
    : dropout_(dropout), dropout_index_(dropout_index) {
  CHECK_EQ(in.size(), 3u) << "a seq2seq encoder layer takes [source, lengths, target]";
  forward_ = std::make_unique<Recurrent>(ctx, rng, cell, in[0], hidden, dtype);
  backward_ = std::make_unique<Recurrent>(ctx, rng, cell, in[0], hidden, dtype);
  shapes_ = {{in[0][0], 2 * hidden}, {}, in[2]};
  out_shape_ = shapes_[0];
}

Var BiRecurrentEncoder::encode(Context& ctx, const Var& x, const Tensor& key_len) {
  const Var fwd = forward_->forward(ctx, x);
  const Var bwd = reverse_within_length(ctx, backward_->forward(ctx, reverse_within_length(ctx, x, key_len)), key_len);
  return ops::dropout(ctx, ops::concat(ctx, {fwd, bwd}, 2), dropout_, training_, dropout_index_);
}

Vars BiRecurrentEncoder::apply(Context& ctx, const Vars& xs) {
  check_inputs(xs, "a bidirectional encoder layer");
  return {encode(ctx, xs[0], xs[1].value()), xs[1], xs[2]};
}

std::string BiRecurrentEncoder::describe() const { return absl::StrCat("bidirectional ", forward_->describe()); }

std::vector<std::pair<std::string, Var>> BiRecurrentEncoder::params() {
  std::vector<std::pair<std::string, Var>> out;
  add_prefixed(out, "forward.", forward_->params());
  add_prefixed(out, "backward.", backward_->params());
  return out;
}

void BiRecurrentEncoder::set_training(bool training) {
  Layer::set_training(training);
  forward_->set_training(training);
  backward_->set_training(training);
}

int64_t BiRecurrentEncoder::activation_numel() const {
  // both directions, the reversed copies, the concatenation and its dropout
  return 2 * forward_->activation_numel() + 4 * shape_numel(out_shape_);
}

AttentionalDecoder::AttentionalDecoder(Context& ctx, InitRng& rng, RnnCell cell, const std::vector<Shape>& in,
                                       int64_t hidden, int64_t layers, float dropout, uint32_t dropout_index,
                                       DType dtype)
    : dropout_(dropout), dropout_index_(dropout_index) {
  CHECK(in.size() == 3u && layers >= 1) << "an attentional decoder takes [memory, lengths, target]";
  const int64_t lt = in[2][0], ls = in[0][0], memory_width = in[0][1];
  memory_len_ = ls;
  Shape x = in[2];
  for (int64_t i = 0; i < layers; ++i) {
    cells_.push_back(std::make_unique<Recurrent>(ctx, rng, cell, x, hidden, dtype));
    x = cells_.back()->out_shape();
  }
  query_ = std::make_unique<Linear>(ctx, rng, hidden, hidden, dtype, false, Shape{lt});
  memory_kv_ = std::make_unique<Linear>(ctx, rng, memory_width, 2 * hidden, dtype, false, Shape{ls});
  context_ = std::make_unique<Linear>(ctx, rng, hidden, hidden, dtype, true, Shape{lt});
  state_ = std::make_unique<Linear>(ctx, rng, hidden, hidden, dtype, false, Shape{lt});
  shapes_ = {in[0], {}, {lt, hidden}};
  out_shape_ = shapes_[2];
}

Var AttentionalDecoder::attend(Context& ctx, const Var& h, const Var& kv, const Tensor& key_len) {
  const Var context = ops::cross_attention(ctx, query_->forward(ctx, h), kv, 1, &key_len);
  const Var out = ops::tanh(ctx, ops::add(ctx, context_->forward(ctx, context), state_->forward(ctx, h)));
  return ops::dropout(ctx, out, dropout_, training_, dropout_index_ + static_cast<uint32_t>(cells_.size()) - 1);
}

Vars AttentionalDecoder::apply(Context& ctx, const Vars& xs) {
  check_inputs(xs, "an attentional decoder");
  Var h = xs[2];
  for (size_t i = 0; i < cells_.size(); ++i) {
    h = cells_[i]->forward(ctx, h);
    if (i + 1 < cells_.size()) h = ops::dropout(ctx, h, dropout_, training_, dropout_index_ + static_cast<uint32_t>(i));
  }
  return {xs[0], xs[1], attend(ctx, h, memory_kv(ctx, xs[0]), xs[1].value())};
}

Var AttentionalDecoder::memory_kv(Context& ctx, const Var& memory) { return memory_kv_->forward(ctx, memory); }

std::vector<Tensor> AttentionalDecoder::initial_state(Context& ctx, int64_t rows) const {
  std::vector<Tensor> state;
  for (const auto& c : cells_) {
    state.push_back(ctx.zeros({rows, c->hidden()}, c->params()[0].second.dtype()));
    state.push_back(c->lstm() ? ctx.zeros({rows, c->hidden()}, c->params()[0].second.dtype()) : Tensor());
  }
  return state;
}

Var AttentionalDecoder::step(Context& ctx, const Var& x, std::vector<Tensor>& state, const Var& kv,
                             const Tensor& key_len) {
  const int64_t rows = x.shape()[0];
  Tensor in = x.value().reshape({rows, x.shape()[2]});
  for (size_t i = 0; i < cells_.size(); ++i) {
    cells_[i]->step(ctx, in, state[2 * i], state[2 * i + 1]);
    in = state[2 * i];
  }
  return attend(ctx, Var(in.reshape({rows, 1, in.dim(1)})), kv, key_len);
}

std::string AttentionalDecoder::describe() const {
  return absl::StrCat("attentional decoder: ", cells_.size(), " × ", cells_[0]->describe());
}

std::vector<std::pair<std::string, Var>> AttentionalDecoder::params() {
  std::vector<std::pair<std::string, Var>> out;
  for (size_t i = 0; i < cells_.size(); ++i) add_prefixed(out, absl::StrCat("cell", i, "."), cells_[i]->params());
  add_prefixed(out, "query.", query_->params());
  add_prefixed(out, "memory_kv.", memory_kv_->params());
  add_prefixed(out, "context.", context_->params());
  add_prefixed(out, "state.", state_->params());
  return out;
}

void AttentionalDecoder::set_training(bool training) {
  Layer::set_training(training);
  for (auto& c : cells_) c->set_training(training);
  for (Layer* l : std::initializer_list<Layer*>{query_.get(), memory_kv_.get(), context_.get(), state_.get()})
    l->set_training(training);
}

int64_t AttentionalDecoder::activation_numel() const {
  int64_t n = 0;
  for (const auto& c : cells_) n += c->activation_numel();
  const int64_t lt = out_shape_[0], h = out_shape_[1];
  // queries, the memory's keys and values, weights (Lt × Ls), context, the two
  // projections, their sum, tanh, dropout
  return n + lt * (h + memory_len_ + 6 * h) + memory_len_ * 2 * h;
}

}  // namespace ty
