#include "worker/trainer/memory_estimate.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty {
namespace {
// Per activation element: its value, its gradient, and about as much kept by ops for
// backward (masks, pooling indices, normalized inputs) or in flight as temporaries.
constexpr int64_t kActivationCopies = 3;
}  // namespace

MemoryEstimate estimate_training_memory(Model& model, const OptimizerSpec& optimizer, int64_t samples_per_rank) {
  const int64_t bytes = 4;  // f32
  MemoryEstimate e;
  e.parameters = model.num_params() * bytes * 2;
  const int64_t slots = optimizer.name == OptimizerKind::kSgd ? (optimizer.momentum > 0 ? 1 : 0) : 2;
  e.optimizer = model.num_params() * bytes * slots;
  e.activations = samples_per_rank * model.activation_numel() * bytes * kActivationCopies;
  return e;
}

std::string bytes_text(int64_t bytes) {
  const double mib = static_cast<double>(bytes) / (1 << 20);
  return mib >= 1024 ? absl::StrFormat("%.1f GiB", mib / 1024) : absl::StrFormat("%.0f MiB", mib);
}

absl::Status check_fits(const MemoryEstimate& e, int64_t available, const std::string& where) {
  if (e.total() <= available) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("training this model needs about ", bytes_text(e.total()), " per rank (parameters and gradients ",
                   bytes_text(e.parameters), ", optimizer state ", bytes_text(e.optimizer), ", activations of a batch ",
                   bytes_text(e.activations), "); ", where, " has ", bytes_text(available),
                   ": lower data.batch_size (activations grow with it) or the model's size (model.hidden, model.conv "
                   "channels, model.layers)"));
}

}  // namespace ty
