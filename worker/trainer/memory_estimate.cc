#include "worker/trainer/memory_estimate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty {
namespace {
// Per activation element: its value, its gradient, and about as much kept by ops for
// backward (masks, pooling indices, normalized inputs) or in flight as temporaries.
constexpr int64_t kActivationCopies = 3;
}  // namespace

MemoryEstimate estimate_training_memory(Model& model, const OptimizerSpec& optimizer, int64_t samples_per_rank) {
  // In double, then capped: a product past 2^62 bytes is "too much" alike, not an overflow.
  auto bytes = [](double v) { return static_cast<int64_t>(std::min(v, 0x1p62)); };
  const double params = static_cast<double>(model.num_params()) * 4;  // f32
  const int slots = optimizer.name == OptimizerKind::kSgd ? (optimizer.momentum > 0 ? 1 : 0) : 2;
  MemoryEstimate e;
  e.parameters = bytes(params * 2);
  e.optimizer = bytes(params * slots);
  e.activations = bytes(static_cast<double>(samples_per_rank) * static_cast<double>(model.activation_numel()) * 4 *
                        kActivationCopies);
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
