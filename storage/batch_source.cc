#include "storage/batch_source.h"

#include "runtime/status.h"

namespace ty {

absl::Status SampledBatches::seek(int64_t epoch, int64_t step) {
  if (epoch != epoch_) sampler_.begin_epoch(epoch);
  epoch_ = epoch;
  step_ = step;
  return absl::OkStatus();
}

absl::Status SampledBatches::next(Batch& batch) {
  if (step_ >= sampler_.steps_per_epoch()) TY_RETURN_IF_ERROR(seek(epoch_ + 1, 0));
  const int64_t first = sampler_.share(step_, sampler_.rank()).first;
  const std::vector<int64_t> indices = sampler_.local_batch(step_++);
  TY_ASSIGN_OR_RETURN(batch, gather_batch(*data_, indices.data(), static_cast<int64_t>(indices.size()), memory_));
  batch.set_first_sample(first);
  return absl::OkStatus();
}

}  // namespace ty
