#include "worker/trainer/gan_task.h"

#include "models/gan.h"
#include "runtime/optim/clip.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"
#include "runtime/status.h"
#include "worker/trainer/data_parallel.h"
#include "worker/trainer/strategy.h"

namespace ty {
namespace {

// Noise streams: update u of training step s draws from stream kTrainNoise + 128 · s + u
// (train.d_steps is at most 100), row r of a batch at counter (its position + r) · latent.
constexpr uint64_t kTrainNoise = 0x4741'4e00'0000'0000ull, kEvalNoise = 0x4741'4e01'0000'0000ull;
constexpr uint64_t kUpdatesPerStep = 128;

Tensor constant_like(Context& ctx, const Var& logits, double value) {
  Tensor t = ctx.empty(logits.shape(), logits.dtype());
  t.fill(value);
  return t;
}

Var bce(Context& ctx, const Var& logits, double target) {
  return ops::bce_with_logits(ctx, logits, constant_like(ctx, logits, target));
}

// Parameters that need no gradient while the other network updates (their ops still pass
// gradients through to the inputs).
class Frozen {
 public:
  explicit Frozen(std::vector<Var> params) : params_(std::move(params)) {
    for (Var& p : params_) p.state()->requires_grad = false;
  }
  ~Frozen() {
    for (Var& p : params_) p.state()->requires_grad = true;
  }

 private:
  std::vector<Var> params_;
};

}  // namespace

Tensor latent_noise(Context& ctx, uint64_t seed, uint64_t stream, int64_t first_row, int64_t count, int64_t latent) {
  Tensor host = Tensor::empty(host_memory(), {count, latent}, DType::kF32);
  float* z = host.data<float>();
  const Philox rng(seed, stream);
  for (int64_t r = 0; r < count; ++r)
    for (int64_t j = 0; j < latent; ++j)
      z[r * latent + j] = static_cast<float>(rng.normal(static_cast<uint64_t>((first_row + r) * latent + j)));
  return ctx.to_device(host);
}

Vars GanTask::with_labels(const Var& x, const Batch& batch) const {
  if (!conditional_) return {x};
  return {x, Var(ctx_.to_device(batch["y"]))};
}

Vars GanTask::inputs(const Batch& batch) {
  return with_labels(Var(latent_noise(ctx_, seed_, kEvalNoise, batch.first_sample(), batch.rows(), latent_)), batch);
}

Var GanTask::loss_of(Context& ctx, const Vars& outputs, const Batch&) { return bce(ctx, outputs[0], 1.0); }

void GanTask::measure_outputs(Context& ctx, const Vars& outputs, const Batch& batch, MetricsAccumulator& m) {
  Var loss = loss_of(ctx, outputs, batch);
  m.add(outputs[0].value(), constant_like(ctx, outputs[0], 1.0), loss.value().item());
}

void GanTask::clip(Context& ctx, const std::vector<Var>& params) const {
  if (clip_ > 0) clip_grad_norm(ctx, params, clip_);
}

absl::StatusOr<Tensor> GanTask::train_step(Context& ctx, Model& model, Strategy& strategy,
                                           std::vector<Batch>& batches, float lr, int64_t step) {
  const float lr_scale = g_lr_ > 0 ? lr / g_lr_ : 1.0f;  // (the schedule runs on the generator's rate)
  GanNet& g = gan_generator(model);
  GanNet& d = gan_discriminator(model);
  const std::vector<std::vector<Var>> groups = model.param_groups();
  const std::vector<Var>& g_params = groups[kGeneratorGroup];
  const std::vector<Var>& d_params = groups[kDiscriminatorGroup];
  Tape g_tape;  // the generator's forward of the last update, kept for its own update
  Var fake;
  Batch last;
  const size_t updates = batches.size();
  // Dropout masks (a layer list may have dropout) are keyed by the step: each forward pass of
  // the step draws its own, at the batch's sample positions (so ranks draw apart).
  DropoutKey& masks = ctx.dropout_key();
  auto pass = [&](size_t u, uint64_t which, const Batch& b) {
    masks.step = (static_cast<uint64_t>(step) * kUpdatesPerStep + u) * 4 + which;
    masks.first_sample = static_cast<uint64_t>(b.first_sample());
  };
  for (size_t u = 0; u < updates; ++u) {
    Batch& real = batches[u];
    to_device(ctx, real);
    const uint64_t stream = kTrainNoise + static_cast<uint64_t>(step) * kUpdatesPerStep + u;
    const Var z(latent_noise(ctx, seed_, stream, real.first_sample(), real.rows(), latent_));
    {
      TapeScope record(ctx, u + 1 == updates ? &g_tape : nullptr);
      pass(u, 0, real);
      fake = g.apply(ctx, with_labels(z, real))[0];
    }
    Tape d_tape;
    Var d_loss;
    {
      TapeScope record(ctx, &d_tape);
      pass(u, 1, real);
      const Var real_logits = d.apply(ctx, with_labels(Var(real["x"]), real))[0];
      pass(u, 2, real);
      const Var fake_logits = d.apply(ctx, with_labels(Var(fake.value()), real))[0];  // no gradient into G
      d_loss = ops::add(ctx, bce(ctx, real_logits, 1.0), bce(ctx, fake_logits, 0.0));
    }
    TY_RETURN_IF_ERROR(strategy.backward_group(d_tape, d_loss, kDiscriminatorGroup));
    clip(ctx, d_params);
    d_opt_.step(d_lr_ * lr_scale);
    d_opt_.zero_grad();
    d_loss_ = d_loss.value();
    if (u + 1 == updates) last = std::move(real);
  }
  Var g_loss;
  {
    // D passes gradients to G's images but takes none itself (its backward reads the flags too).
    const Frozen no_d_grads(d_params);
    {
      TapeScope record(ctx, &g_tape);
      pass(updates - 1, 3, last);
      g_loss = bce(ctx, d.apply(ctx, with_labels(fake, last))[0], 1.0);
    }
    TY_RETURN_IF_ERROR(strategy.backward_group(g_tape, g_loss, kGeneratorGroup));
  }
  clip(ctx, g_params);
  g_opt_.step(g_lr_ * lr_scale);
  g_opt_.zero_grad();
  return g_loss.value();
}

ExtraFigures GanTask::step_figures() {
  if (!d_loss_.defined()) return {};
  return {{"d_loss", d_loss_.item()}};
}

}  // namespace ty
