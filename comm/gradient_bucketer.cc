#include "comm/gradient_bucketer.h"

#include "runtime/status.h"

namespace ty {

GradientBucketer::GradientBucketer(Communicator& comm, std::vector<Var> params, size_t bucket_bytes)
    : comm_(comm), params_(std::move(params)), bucket_of_(params_.size()), ready_(params_.size(), false) {
  // Pack in reverse order of use.
  std::vector<std::vector<size_t>> groups;
  size_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const size_t b = params_[k].value().nbytes();
    if (groups.empty() || (bytes > 0 && bytes + b > bucket_bytes)) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(k);
    bytes += b;
  }
  for (auto& g : groups) {
    Bucket bucket;
    int64_t numel = 0;
    const DType dtype = params_[g.front()].dtype();
    for (size_t k : g) {
      CHECK(params_[k].dtype() == dtype) << "a gradient bucket mixing " << dtype_name(dtype) << " and "
                                         << dtype_name(params_[k].dtype());
      numel += params_[k].value().numel();
    }
    const Tensor& first = params_[g.front()].value();
    bucket.buffer = Tensor::empty(first.allocator(), {numel}, dtype, first.device());
    bucket.buffer.zero();
    int64_t offset = 0;
    for (size_t k : g) {
      VarState* s = params_[k].state();
      const int64_t n = s->value.numel();
      s->grad = bucket.buffer.rows(offset, n).reshape(s->value.shape());
      s->grad_valid = false;
      s->pin_grad_buffer = true;
      s->on_grad_ready = [this, k](VarState&) { on_ready(k); };
      bucket_of_[k] = buckets_.size();
      offset += n;
    }
    bucket.params = g;
    buckets_.push_back(std::move(bucket));
  }
}

GradientBucketer::~GradientBucketer() {
  for (Var& p : params_) p.state()->on_grad_ready = nullptr;
}

void GradientBucketer::hold() { std::fill(ready_.begin(), ready_.end(), true); }

void GradientBucketer::begin_step() {
  std::fill(ready_.begin(), ready_.end(), false);
  for (Bucket& b : buckets_) {
    b.pending = b.params.size();
    b.launched = false;
    b.handle.reset();
  }
  next_launch_ = 0;
}

void GradientBucketer::on_ready(size_t k) {
  if (ready_[k]) return;
  ready_[k] = true;
  // No gradient reached this parameter (a hook can fire for a node without incoming
  // gradient): contribute zeros, and mark it valid so every rank's optimizer treats it alike.
  VarState* s = params_[k].state();
  if (!s->grad_valid) {
    s->grad.zero();
    s->grad_valid = true;
  }
  --buckets_[bucket_of_[k]].pending;
  launch_ready_in_order();
}

void GradientBucketer::launch_ready_in_order() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Bucket& b = buckets_[next_launch_++];
    b.launched = true;
    b.handle = comm_.allreduce(b.buffer, ReduceOp::kAvg);
  }
}

absl::Status GradientBucketer::finish_step() {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t k = 0; k < params_.size(); ++k) {
    if (!ready_[k]) on_ready(k);  // zero-fills what backward never reached
  }
  absl::Status first;
  for (Bucket& b : buckets_) {
    absl::Status st = b.handle->wait();
    if (first.ok() && !st.ok()) first = st;
    comm_seconds_ += b.handle->run_seconds();
  }
  waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return first;
}

absl::Status broadcast_tensors(Communicator& comm, const std::vector<Tensor>& tensors, int root) {
  std::vector<CommHandlePtr> handles;
  for (const Tensor& t : tensors) handles.push_back(comm.broadcast(t, root));
  absl::Status first;
  for (auto& h : handles) {
    absl::Status st = h->wait();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

}  // namespace ty
