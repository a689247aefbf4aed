// Recurrent kernels (a kernel family, optional for a backend): the pointwise part of one
// time step of an LSTM or GRU cell, and the axis swap between batch-major (N, L, D) and
// time-major (L, N, D) sequences. The matrix products around them (inputs and states times
// the weights) are the dense family's gemm (ops/recurrent.cc). All tensors plain, one
// time step's slab (N, ...) contiguous. Gate order as PyTorch and cuDNN: LSTM i, f, g, o;
// GRU r, z, n.
#pragma once

#include "runtime/tensor.h"

namespace ty {

class RecurrentKernels {
 public:
  virtual ~RecurrentKernels() = default;
  // dst (B, A, D) = src (A, B, D) with the first two axes swapped.
  virtual void swap_axes01(const Tensor& src, Tensor& dst) = 0;

  // LSTM step. xw, hw (N, 4H): x_t W_ih^T + b_ih and h_{t-1} W_hh^T + b_hh. c_prev (N, H).
  // Writes act (N, 4H): the activated gates i, f, g, o (kept for the backward), c and h (N, H):
  // c = f c_prev + i g, h = o tanh(c).
  virtual void lstm_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& c_prev, Tensor& act, Tensor& c,
                                 Tensor& h) = 0;
  // Its backward. dh (N, H): the loss's gradient of h (from the output and the next step);
  // dc (N, H): of c from the next step, replaced by the gradient of c_prev. Writes dgates
  // (N, 4H): the gradient of the pre-activations (of xw and of hw alike).
  virtual void lstm_step_backward(const Tensor& act, const Tensor& c_prev, const Tensor& c, const Tensor& dh,
                                  Tensor& dc, Tensor& dgates) = 0;

  // GRU step (linear before reset): r = σ(xw_r + hw_r), z = σ(xw_z + hw_z),
  // n = tanh(xw_n + r hw_n), h = (1 − z) n + z h_prev; xw, hw (N, 3H) as for the LSTM.
  // Writes act (N, 4H): r, z, n and hw_n (kept for the backward), and h (N, H).
  virtual void gru_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& h_prev, Tensor& act, Tensor& h) = 0;
  // Its backward from dh (N, H): dxw, dhw (N, 3H), the gradients of xw and hw, and
  // dh_prev (N, H) = the part of h_prev's gradient that does not pass through hw (z dh).
  virtual void gru_step_backward(const Tensor& act, const Tensor& h_prev, const Tensor& dh, Tensor& dxw, Tensor& dhw,
                                 Tensor& dh_prev) = 0;
};

#define TY_RECURRENT_KERNELS                                                                                          \
  void swap_axes01(const Tensor& src, Tensor& dst) override;                                                          \
  void lstm_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& c_prev, Tensor& act, Tensor& c, Tensor& h) \
      override;                                                                                                       \
  void lstm_step_backward(const Tensor& act, const Tensor& c_prev, const Tensor& c, const Tensor& dh, Tensor& dc,     \
                          Tensor& dgates) override;                                                                   \
  void gru_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& h_prev, Tensor& act, Tensor& h) override;   \
  void gru_step_backward(const Tensor& act, const Tensor& h_prev, const Tensor& dh, Tensor& dxw, Tensor& dhw,         \
                         Tensor& dh_prev) override;

}  // namespace ty
