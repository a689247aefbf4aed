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
  bucketer_ = std::make_unique<GradientBucketer>(grads, model.params(), bucket_bytes_);
  return absl::OkStatus();
}

void DataParallel::begin_backward() {
  if (bucketer_) bucketer_->begin_step();
}

void DataParallel::begin_local_backward() {
  if (bucketer_) bucketer_->hold();
}

absl::Status DataParallel::end_backward() { return bucketer_ ? bucketer_->finish_step() : absl::OkStatus(); }

absl::Status DataParallel::reduce(std::vector<double>& values, ReduceOp op) {
  if (!host_ || values.empty()) return absl::OkStatus();
  Tensor t = Tensor::empty(host_memory(), {static_cast<int64_t>(values.size())}, DType::kF64);
  for (size_t i = 0; i < values.size(); ++i) t.set(static_cast<int64_t>(i), values[i]);
  TY_RETURN_IF_ERROR(host_->allreduce_now(t, op));
  for (size_t i = 0; i < values.size(); ++i) values[i] = t.at(static_cast<int64_t>(i));
  return absl::OkStatus();
}

absl::Status DataParallel::sum(std::vector<double>& values) { return reduce(values, ReduceOp::kSum); }
absl::Status DataParallel::max(std::vector<double>& values) { return reduce(values, ReduceOp::kMax); }

std::string DataParallel::describe() const {
  if (!bucketer_) return "";
  return absl::StrFormat(", %s, %d gradient buckets", host_->describe(), bucketer_->num_buckets());
}

std::string DataParallel::report() const {
  if (!bucketer_ || bucketer_->comm_seconds() <= 0) return "";
  return absl::StrFormat("gradient allreduce: %.3f s running, %.3f s waited for (%.0f%% hidden behind backward)",
                         bucketer_->comm_seconds(), bucketer_->waited_seconds(),
                         100.0 * std::max(0.0, 1.0 - bucketer_->waited_seconds() / bucketer_->comm_seconds()));
}

}  // namespace ty
