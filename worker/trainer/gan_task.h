// GanTask: a GAN's training (model.kind gan, models/gan.h). A step is train.d_steps updates of
// the discriminator, each on one batch of real images and one of generated ones, then one of
// the generator, each network with its own optimizer (optimizer.discriminator,
// optimizer.generator):
//   discriminator  BCE-with-logits(D(x), 1) + BCE-with-logits(D(G(z)), 0), G not updated;
//   generator      BCE-with-logits(D(G(z)), 1) (the non-saturating loss), D not updated,
//                  on the last discriminator update's generated batch (as PyTorch's DCGAN
//                  example: one generator forward per update).
// The noise z is drawn from Philox keyed by (train.seed, step, update, sample position), so a
// resumed run draws what the uninterrupted one would, and ranks draw apart. With
// model.conditional both networks take the batch's labels.
#pragma once

#include "runtime/optim/optimizer.h"
#include "worker/trainer/task.h"

namespace ty {

// `count` rows of latent noise N(0, 1), row r keyed by (seed, stream, first_row + r): the
// fixed batch a run's sample grids show (and `trainyard sample`'s) is stream kSampleNoise.
Tensor latent_noise(Context& ctx, uint64_t seed, uint64_t stream, int64_t first_row, int64_t count, int64_t latent);
inline constexpr uint64_t kSampleNoise = 0x5a4d0000;
inline constexpr uint64_t kFidNoise = 0x5a4d0001;  // the images FID scores

class GanTask final : public Task {
 public:
  // Model parameter groups (Model::param_groups): 0 the generator's, 1 the discriminator's.
  static constexpr size_t kGeneratorGroup = 0, kDiscriminatorGroup = 1;
  // `generator_lr`, `discriminator_lr`: the optimizers' base rates (a step's `lr` is the
  // generator's as scheduled; the discriminator's scales alike); `clip`: train.clip_grad_norm
  // (each network's gradient by its own norm), 0: none.
  GanTask(Context& ctx, Optimizer& generator, float generator_lr, Optimizer& discriminator, float discriminator_lr,
          int64_t latent, bool conditional, uint64_t seed, float clip)
      : ctx_(ctx),
        g_opt_(generator),
        d_opt_(discriminator),
        g_lr_(generator_lr),
        d_lr_(discriminator_lr),
        latent_(latent),
        conditional_(conditional),
        seed_(seed),
        clip_(clip) {}

  // As a one-model task (evaluation): noise (and labels) in, D(G(z)) out, the generator's loss.
  Vars inputs(const Batch& batch) override;
  Var loss_of(Context& ctx, const Vars& outputs, const Batch& batch) override;
  void measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) override;
  MetricsAccumulator new_metrics() const override { return MetricsAccumulator(0); }

  bool steps_itself() const override { return true; }
  absl::StatusOr<Tensor> train_step(Context& ctx, Model& model, Strategy& strategy, std::vector<Batch>& batches,
                                    float lr, int64_t step) override;
  ExtraFigures step_figures() override;

 private:
  // Inputs of a network beside x: the labels of `batch` when conditional.
  Vars with_labels(const Var& x, const Batch& batch) const;
  void clip(Context& ctx, const std::vector<Var>& params) const;

  Context& ctx_;
  Optimizer& g_opt_;
  Optimizer& d_opt_;
  float g_lr_, d_lr_;
  int64_t latent_;
  bool conditional_;
  uint64_t seed_;
  float clip_;
  Tensor d_loss_;  // the last step's last discriminator loss (device scalar)
};

}  // namespace ty
