// The layers of an attentional RNN seq2seq model (model.arch: rnn), between the
// Seq2seqEmbedding and the Seq2seqOutput, over [source (N, Ls, ·), source lengths i32 (N),
// target (N, Lt, ·)]:
//   BiRecurrentEncoder   a bidirectional LSTM or GRU layer on the source, (Ls, E) -> (Ls, 2H):
//                        a forward cell, and a backward cell that reads each source from its
//                        last real token back (its padding stays after), their states side
//                        by side; dropout after.
//   AttentionalDecoder   stacked LSTM or GRU cells on the target, (Lt, E) -> h (Lt, H), then
//                        attention over the encoder's outputs (Luong et al. 2015, "general"
//                        score, no input feeding: queries h·Wq (A), keys and values from the
//                        memory (2H -> A each), one head, the padding masked; the scores
//                        scaled by 1/√A, as every attention here) -> context
//                        (Lt, A), and out = tanh(Wc context + Wh h + b) (Lt, H); dropout
//                        between the cells and after.
// Cells start from zero states. Parameters: forward.*, backward.* (each a Recurrent's);
// cell0.*, cell1.*, ..., query.*, memory_kv.*, context.*, state.*.
#pragma once

#include <memory>

#include "models/layers/linear.h"
#include "models/layers/recurrent.h"

namespace ty {

class BiRecurrentEncoder final : public Layer {
 public:
  BiRecurrentEncoder(Context& ctx, InitRng& rng, RnnCell cell, const std::vector<Shape>& in, int64_t hidden,
                     float dropout, uint32_t dropout_index, DType dtype);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override { return shapes_; }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override;
  // x (N, Ls, E) whose sequence n has key_len[n] real positions -> (N, Ls, 2H).
  Var encode(Context& ctx, const Var& x, const Tensor& key_len);

 private:
  std::unique_ptr<Recurrent> forward_, backward_;
  float dropout_;
  uint32_t dropout_index_;
  std::vector<Shape> shapes_;
};

class AttentionalDecoder final : public Layer {
 public:
  AttentionalDecoder(Context& ctx, InitRng& rng, RnnCell cell, const std::vector<Shape>& in, int64_t hidden,
                     int64_t layers, float dropout, uint32_t dropout_index, DType dtype);
  Vars apply(Context& ctx, const Vars& xs) override;
  std::vector<Shape> out_shapes() const override { return shapes_; }
  std::string describe() const override;
  std::vector<std::pair<std::string, Var>> params() override;
  void set_training(bool training) override;
  int64_t activation_numel() const override;
  static uint32_t dropout_count(int64_t layers) { return static_cast<uint32_t>(layers); }

  // Decoding, without gradients. The memory's keys and values (N, Ls, 2A), once per source.
  Var memory_kv(Context& ctx, const Var& memory);
  // The cells' states for `rows` hypotheses: zeros, h (and c) per cell, each (rows, H).
  std::vector<Tensor> initial_state(Context& ctx, int64_t rows) const;
  // One position: x (R, 1, E) -> out (R, 1, H); the states move on.
  Var step(Context& ctx, const Var& x, std::vector<Tensor>& state, const Var& kv, const Tensor& key_len);

 private:
  // h (N, T, H) of the last cell -> out (N, T, H).
  Var attend(Context& ctx, const Var& h, const Var& kv, const Tensor& key_len);
  std::vector<std::unique_ptr<Recurrent>> cells_;
  std::unique_ptr<Linear> query_, memory_kv_, context_, state_;
  float dropout_;
  uint32_t dropout_index_;
  int64_t memory_len_;
  std::vector<Shape> shapes_;
};

}  // namespace ty
