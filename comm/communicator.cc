#include "comm/communicator.h"

#include <climits>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

class DoneHandle final : public CommHandle {
 public:
  explicit DoneHandle(absl::Status s) : status_(std::move(s)) {}
  absl::Status wait() override { return status_; }
  bool test(absl::Status* s) override {
    *s = status_;
    return true;
  }
  double run_seconds() const override { return 0; }

 private:
  absl::Status status_;
};

// A collective's handle whose timeout names the ranks that never reached it.
class ExplainedHandle final : public CommHandle {
 public:
  ExplainedHandle(CommHandlePtr inner, std::shared_ptr<Arrivals> arrivals, uint64_t seq, std::function<void()> finished)
      : inner_(std::move(inner)), arrivals_(std::move(arrivals)), seq_(seq), finished_(std::move(finished)) {}
  ~ExplainedHandle() override {
    if (finished_) finished_();
  }
  absl::Status wait() override {
    absl::Status st = explained(inner_->wait());
    if (finished_) std::exchange(finished_, nullptr)();
    return st;
  }
  // Never waits: a timeout seen here is explained by the wait() that ends the operation.
  bool test(absl::Status* status) override {
    if (!inner_->test(status)) return false;
    if (finished_) std::exchange(finished_, nullptr)();
    return true;
  }
  double run_seconds() const override { return inner_->run_seconds(); }

 private:
  absl::Status explained(absl::Status st) {
    return st.code() == absl::StatusCode::kDeadlineExceeded ? arrivals_->explain(st, seq_) : st;
  }
  CommHandlePtr inner_;
  std::shared_ptr<Arrivals> arrivals_;
  uint64_t seq_;
  std::function<void()> finished_;  // takes seq_ off the in-flight set
};

const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return "sum";
    case ReduceOp::kAvg: return "avg";
    case ReduceOp::kMax: return "max";
  }
  return "?";
}

}  // namespace

CommHandlePtr done_handle(absl::Status status) { return std::make_unique<DoneHandle>(std::move(status)); }

void Communicator::track(uint64_t seq) {
  if (!arrivals_) return;
  std::lock_guard<std::mutex> lock(*in_flight_mu_);
  in_flight_->insert(seq);
}

CommHandlePtr Communicator::explained(CommHandlePtr handle, uint64_t seq) {
  if (!arrivals_) return handle;
  auto done = [mu = in_flight_mu_, set = in_flight_, seq] {
    std::lock_guard<std::mutex> lock(*mu);
    set->erase(seq);
  };
  return std::make_unique<ExplainedHandle>(std::move(handle), arrivals_, seq, std::move(done));
}

absl::Status Communicator::explained(absl::Status status, uint64_t seq) {
  if (!arrivals_) return status;
  {
    std::lock_guard<std::mutex> lock(*in_flight_mu_);
    in_flight_->erase(seq);
  }
  if (status.code() != absl::StatusCode::kDeadlineExceeded) return status;
  return arrivals_->explain(status, seq);
}

std::string Communicator::explain_stuck(const std::string& message) {
  uint64_t oldest = 0;
  {
    std::lock_guard<std::mutex> lock(*in_flight_mu_);
    if (!arrivals_ || in_flight_->empty()) return message;
    oldest = *in_flight_->begin();
  }
  return std::string(arrivals_->explain(absl::DeadlineExceededError(message), oldest).message());
}

std::string Communicator::where(const char* op) const {
  return absl::StrCat(op, " on group ", group(), " (rank ", rank(), " of ", size(), ", ", backend(), ")");
}

absl::Status Communicator::check_tensor(const char* op, const Tensor& t, bool reduction) const {
  auto bad = [&](const std::string& what) { return absl::InvalidArgumentError(absl::StrCat(where(op), ": ", what)); };
  if (!t.defined()) return bad("the tensor is undefined");
  if (reduction && t.dtype() != DType::kF32 && t.dtype() != DType::kF64)
    return bad(absl::StrCat("reductions take f32 or f64 tensors, got ", dtype_name(t.dtype())));
  if (t.numel() > INT_MAX) return bad(absl::StrCat(t.numel(), " elements; at most ", INT_MAX, " per operation"));
  const bool on_device = !t.on_host();
  if (on_device != moves_device_tensors())
    return bad(absl::StrCat(backend(), " moves ", moves_device_tensors() ? "device" : "host", " tensors, got one on ",
                            t.device().str()));
  return absl::OkStatus();
}

absl::Status Communicator::check_peer(const char* op, int peer, const char* role) const {
  if (peer < 0 || peer >= size())
    return absl::InvalidArgumentError(
        absl::StrCat(where(op), ": ", role, " rank ", peer, " is not in the group (0 to ", size() - 1, ")"));
  return absl::OkStatus();
}

CommHandlePtr Communicator::allreduce(Tensor t, ReduceOp op) {
  const uint64_t seq = ++collectives_;
  if (absl::Status st = check_tensor("allreduce", t, true); !st.ok()) return done_handle(st);
  track(seq);
  return explained(do_allreduce(std::move(t), op), seq);
}

absl::Status Communicator::allreduce_now(Tensor t, ReduceOp op) {
  const uint64_t seq = ++collectives_;
  if (absl::Status st = check_tensor("allreduce", t, true); !st.ok()) return st;
  track(seq);
  return explained(do_allreduce_now(std::move(t), op), seq);
}

CommHandlePtr Communicator::broadcast(Tensor t, int root) {
  const uint64_t seq = ++collectives_;
  absl::Status st = check_tensor("broadcast", t, false);
  if (st.ok()) st = check_peer("broadcast", root, "root");
  if (!st.ok()) return done_handle(st);
  track(seq);
  return explained(do_broadcast(std::move(t), root), seq);
}

CommHandlePtr Communicator::allgather(Tensor in, Tensor out) {
  const uint64_t seq = ++collectives_;
  absl::Status st = check_tensor("allgather", in, false);
  if (st.ok()) st = check_tensor("allgather", out, false);
  if (st.ok() && (out.numel() != in.numel() * size() || out.dtype() != in.dtype()))
    st = absl::InvalidArgumentError(absl::StrCat(where("allgather"), ": out holds ", out.numel(), " ",
                                                 dtype_name(out.dtype()), " elements, not ", size(), " x ", in.numel(),
                                                 " ", dtype_name(in.dtype())));
  if (!st.ok()) return done_handle(st);
  track(seq);
  return explained(do_allgather(std::move(in), std::move(out)), seq);
}

CommHandlePtr Communicator::reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  const uint64_t seq = ++collectives_;
  absl::Status st = check_tensor("reduce_scatter", in, true);
  if (st.ok()) st = check_tensor("reduce_scatter", out, true);
  if (st.ok() && (in.numel() != out.numel() * size() || out.dtype() != in.dtype()))
    st = absl::InvalidArgumentError(absl::StrCat(where("reduce_scatter"), " (", op_name(op), "): in holds ", in.numel(),
                                                 " ", dtype_name(in.dtype()), " elements, not ", size(), " x ",
                                                 out.numel(), " ", dtype_name(out.dtype())));
  if (!st.ok()) return done_handle(st);
  track(seq);
  return explained(do_reduce_scatter(std::move(in), std::move(out), op), seq);
}

CommHandlePtr Communicator::barrier() {
  const uint64_t seq = ++collectives_;
  track(seq);
  return explained(do_barrier(), seq);
}

absl::Status Communicator::check_point_to_point(const char* op, const Tensor& t, int peer, const char* role,
                                                int tag) const {
  if (absl::Status st = check_tensor(op, t, false); !st.ok()) return st;
  if (absl::Status st = check_peer(op, peer, role); !st.ok()) return st;
  if (peer == rank()) return absl::InvalidArgumentError(absl::StrCat(where(op), ": with itself"));
  if (tag < 0 || tag >= kMaxTag)
    return absl::InvalidArgumentError(absl::StrCat(where(op), ": tag ", tag, " (allowed: 0 to ", kMaxTag - 1, ")"));
  return absl::OkStatus();
}

CommHandlePtr Communicator::send(Tensor t, int dst, int tag) {
  if (absl::Status st = check_point_to_point("send", t, dst, "destination", tag); !st.ok()) return done_handle(st);
  return do_send(std::move(t), dst, tag);
}

CommHandlePtr Communicator::recv(Tensor t, int src, int tag) {
  if (absl::Status st = check_point_to_point("recv", t, src, "source", tag); !st.ok()) return done_handle(st);
  return do_recv(std::move(t), src, tag);
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::split(int color, int key) {
  const uint64_t seq = ++collectives_;
  if (color < kNoGroup)
    return absl::InvalidArgumentError(absl::StrCat(where("split"), ": color ", color, " (allowed: >= 0, or kNoGroup)"));
  track(seq);
  absl::StatusOr<std::unique_ptr<Communicator>> child = do_split(color, key);
  if (absl::Status st = explained(child.status(), seq); !st.ok()) return st;
  if (*child && arrivals_)  // keyed by this split's number too: two splits may give equal names
    (*child)->set_arrivals(arrivals_->for_group(absl::StrCat((*child)->group(), "#", group(), "/", seq),
                                                (*child)->rank(), (*child)->size()));
  return child;
}

absl::Status allreduce_values(Communicator& comm, std::vector<double>& values, ReduceOp op) {
  if (values.empty()) return absl::OkStatus();
  Tensor t = Tensor::empty(host_memory(), {static_cast<int64_t>(values.size())}, DType::kF64);
  for (size_t i = 0; i < values.size(); ++i) t.set(static_cast<int64_t>(i), values[i]);
  if (absl::Status st = comm.allreduce_now(t, op); !st.ok()) return st;
  for (size_t i = 0; i < values.size(); ++i) values[i] = t.at(static_cast<int64_t>(i));
  return absl::OkStatus();
}

}  // namespace ty
