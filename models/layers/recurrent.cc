#include "models/layers/recurrent.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"

namespace ty {

Recurrent::Recurrent(Context& ctx, InitRng& rng, RnnCell cell, const Shape& in, int64_t hidden, DType dtype)
    : cell_(cell) {
  CHECK_EQ(in.size(), 2u) << "a recurrent layer takes (L, E) sequences, got " << shape_str(in);
  const int64_t gates = cell == RnnCell::kLstm ? 4 : 3;
  const double bound = 1.0 / std::sqrt(double(hidden));
  w_ih_ = Var(rng.uniform(ctx, {gates * hidden, in[1]}, bound, dtype), true);
  w_hh_ = Var(rng.uniform(ctx, {gates * hidden, hidden}, bound, dtype), true);
  b_ih_ = Var(rng.uniform(ctx, {gates * hidden}, bound, dtype), true);
  b_hh_ = Var(rng.uniform(ctx, {gates * hidden}, bound, dtype), true);
  out_shape_ = {in[0], hidden};
}

Var Recurrent::forward(Context& ctx, const Var& x) {
  return cell_ == RnnCell::kLstm ? ops::lstm(ctx, x, w_ih_, w_hh_, b_ih_, b_hh_)
                                 : ops::gru(ctx, x, w_ih_, w_hh_, b_ih_, b_hh_);
}

void Recurrent::step(Context& ctx, const Tensor& x, Tensor& h, Tensor& c) {
  ops::recurrent_step(ctx, cell_ == RnnCell::kLstm, x, w_ih_.value(), w_hh_.value(), b_ih_.value(), b_hh_.value(), h,
                      c);
}

std::string Recurrent::describe() const {
  return absl::StrCat(name_of(cell_), " ", w_ih_.shape()[1], " -> ", w_hh_.shape()[1]);
}

std::vector<std::pair<std::string, Var>> Recurrent::params() {
  return {{"weight_ih", w_ih_}, {"weight_hh", w_hh_}, {"bias_ih", b_ih_}, {"bias_hh", b_hh_}};
}

int64_t Recurrent::activation_numel() const {
  const int64_t len = out_shape_[0], h = out_shape_[1], e = w_ih_.shape()[1];
  // output, inputs time-major, states (h, and c for an LSTM), gates (4 H per step)
  return len * (h + e + (cell_ == RnnCell::kLstm ? 2 : 1) * h + 4 * h + w_ih_.shape()[0]);
}

}  // namespace ty
