// Recurrent: an LSTM or GRU layer over whole sequences, (L, E) -> (L, H): the hidden state
// after every step, from zero initial states (each record starts afresh, so the data order
// alone decides a batch's states and a resumed run computes what an unbroken one does).
// Weights as PyTorch names and initializes them: weight_ih (G·H, E), weight_hh (G·H, H),
// bias_ih, bias_hh (G·H), all U(−1/√H, 1/√H).
#pragma once

#include "models/layer.h"
#include "worker/job/enums.h"

namespace ty {

class Recurrent final : public Layer {
 public:
  Recurrent(Context& ctx, InitRng& rng, RnnCell cell, const Shape& in, int64_t hidden, DType dtype);
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  // The output and what the backward keeps: every step's states and gates, the inputs
  // time-major.
  int64_t activation_numel() const override;
  // Decoding: one step of x (N, E) from state h (and c for an LSTM), both (N, H), replaced
  // by the state after; no gradients.
  void step(Context& ctx, const Tensor& x, Tensor& h, Tensor& c);
  int64_t hidden() const { return w_hh_.shape()[1]; }
  bool lstm() const { return cell_ == RnnCell::kLstm; }

 private:
  RnnCell cell_;
  Var w_ih_, w_hh_, b_ih_, b_hh_;
};

}  // namespace ty
