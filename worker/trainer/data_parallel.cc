#include "worker/trainer/data_parallel.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "runtime/status.h"

namespace ty {

DataParallel::DataParallel(Communicator* host, std::unique_ptr<Communicator> device, size_t bucket_bytes)
    : host_(host && host->size() > 1 ? host : nullptr), device_(std::move(device)), bucket_bytes_(bucket_bytes) {}

absl::Status DataParallel::start(Model& model) {
  if (!host_) return absl::OkStatus();
  Communicator& grads = device_ ? *device_ : *host_;
  std::vector<Tensor> state;
  for (auto& [name, tensor] : model.state()) state.push_back(tensor);
  TY_RETURN_IF_ERROR(broadcast_tensors(grads, state));
  for (std::vector<Var>& group : model.param_groups())
    bucketers_.push_back(std::make_unique<GradientBucketer>(grads, std::move(group), bucket_bytes_));
  return absl::OkStatus();
}

void DataParallel::begin_backward() {
  if (bucketer()) bucketer()->begin_step();
}

void DataParallel::begin_local_backward() {
  if (bucketer()) bucketer()->hold();
}

absl::Status DataParallel::backward_group(Tape& tape, const Var& loss, size_t group) {
  if (bucketers_.empty()) {
    tape.backward(loss);
    return absl::OkStatus();
  }
  CHECK_LT(group, bucketers_.size()) << "parameter group " << group;
  GradientBucketer& b = *bucketers_[group];
  b.begin_step();
  tape.backward(loss);
  return b.finish_step();
}

absl::StatusOr<Tensor> DataParallel::forward_backward(Context& ctx, Model& model, Task& task,
                                                      std::vector<Batch>& batches, double scale) {
  const size_t k = batches.size();
  int64_t rows = 0;
  for (const Batch& b : batches) rows += b.rows();
  Tensor loss_value;  // the mean loss over the step's samples
  Tape tape;
  for (size_t i = 0; i < k; ++i) {
    Batch& batch = batches[i];
    const double weight = k == 1 ? 1.0 : static_cast<double>(batch.rows()) / static_cast<double>(rows);
    // On a GPU the batch is staged through page-locked memory and copied on the compute
    // stream; the step's work queues behind it without waiting.
    to_device(ctx, batch);
    TapeScope record(ctx, &tape);
    ctx.dropout_key().first_sample = static_cast<uint64_t>(batch.first_sample());
    Var loss = task.loss(ctx, model, batch);
    if (k == 1) {
      loss_value = loss.value();
    } else {
      if (i == 0) {
        loss_value = loss.value().empty_like();
        loss_value.zero();
      }
      ctx.kernels(loss_value.dtype()).pointwise().axpby(static_cast<float>(weight), loss.value(), 1.0f, loss_value);
    }
    // The gradients of the step's last batch complete the sum, which is shared then.
    if (i + 1 == k)
      begin_backward();
    else
      begin_local_backward();
    tape.backward(loss, scale * weight);
    batch = Batch();  // its inputs go with its backward
  }
  return loss_value;
}

absl::Status DataParallel::measure(Context& ctx, Model& model, Task& task, Batch& batch, MetricsAccumulator& m) {
  to_device(ctx, batch);
  task.measure(ctx, model, batch, m);
  return absl::OkStatus();
}

void to_device(Context& ctx, Batch& batch) {
  for (auto& [name, t] : batch.fields()) t = ctx.to_device(t);
}

absl::Status DataParallel::end_backward() { return bucketer() ? bucketer()->finish_step() : absl::OkStatus(); }

absl::Status DataParallel::sum(std::vector<double>& values) {
  return host_ ? allreduce_values(*host_, values, ReduceOp::kSum) : absl::OkStatus();
}
absl::Status DataParallel::max(std::vector<double>& values) {
  return host_ ? allreduce_values(*host_, values, ReduceOp::kMax) : absl::OkStatus();
}

std::string DataParallel::describe() const {
  if (bucketers_.empty()) return "";
  size_t buckets = 0;
  for (const auto& b : bucketers_) buckets += b->num_buckets();
  return absl::StrFormat(", %s, %d gradient buckets%s", host_->describe(), buckets,
                         bucketers_.size() > 1 ? absl::StrFormat(" in %d groups", bucketers_.size()) : "");
}

std::string DataParallel::report() const {
  double comm = 0, waited = 0;
  for (const auto& b : bucketers_) {
    comm += b->comm_seconds();
    waited += b->waited_seconds();
  }
  if (comm <= 0) return "";
  return absl::StrFormat("gradient allreduce: %.3f s running, %.3f s waited for (%.0f%% hidden behind backward)", comm,
                         waited, 100.0 * std::max(0.0, 1.0 - waited / comm));
}

}  // namespace ty
