#include "storage/batch_source.h"

#include "runtime/status.h"

namespace ty {

absl::Status SampledBatches::seek(int64_t epoch, int64_t step) {
  if (epoch != epoch_) sampler_.begin_epoch(epoch);
  epoch_ = epoch;
  step_ = step;
  return absl::OkStatus();
}

absl::Status SampledBatches::next(Tensor& x, Tensor& y) {
  if (step_ >= sampler_.steps_per_epoch()) TY_RETURN_IF_ERROR(seek(epoch_ + 1, 0));
  const std::vector<int64_t> indices = sampler_.local_batch(step_++);
  const int64_t count = static_cast<int64_t>(indices.size());
  Shape xs{count};
  for (int64_t d : data_->sample_shape()) xs.push_back(d);
  x = Tensor::empty(memory_, xs, DType::kF32);
  y = data_->num_classes() > 0 ? Tensor::empty(memory_, {count}, DType::kI32)
                               : Tensor::empty(memory_, {count, data_->target_width()}, DType::kF32);
  data_->gather(indices.data(), count, x, y);
  return absl::OkStatus();
}

}  // namespace ty
