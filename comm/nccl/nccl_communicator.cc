#include "comm/nccl/nccl_communicator.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/status.h"

namespace ty {
namespace {

using Clock = std::chrono::steady_clock;

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::kF32: return ncclFloat32;
    case DType::kF64: return ncclFloat64;
    case DType::kI32: return ncclInt32;
    case DType::kU8: return ncclUint8;
    case DType::kF16: return ncclFloat16;
    case DType::kBF16: return ncclBfloat16;
  }
  return ncclFloat32;
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum: return ncclSum;
    case ReduceOp::kAvg: return ncclAvg;
    case ReduceOp::kMax: return ncclMax;
  }
  return ncclSum;
}

}  // namespace

class NcclCommunicator::Handle final : public CommHandle {
 public:
  Handle(NcclCommunicator& c, std::string op, cudaEvent_t start, cudaEvent_t end)
      : c_(c), op_(std::move(op)), start_(start), end_(end), submitted_(Clock::now()) {}
  ~Handle() override {
    cudaEventDestroy(start_);
    cudaEventDestroy(end_);
  }
  absl::Status wait() override {
    absl::Status s;
    while (!test(&s)) std::this_thread::sleep_for(std::chrono::microseconds(20));
    return s;
  }
  bool test(absl::Status* s) override {
    if (done_) {
      *s = status_;
      return true;
    }
    const cudaError_t e = cudaEventQuery(end_);
    if (e == cudaSuccess) return finish(absl::OkStatus(), s);
    if (e != cudaErrorNotReady) return finish(cuda_status(e, "cudaEventQuery", op_.c_str()), s);
    if (absl::Status broken = c_.broken(); !broken.ok()) return finish(broken, s);
    ncclResult_t async = ncclSuccess;
    c_.nccl_->async_error(c_.comm_, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      const std::string why =
          absl::StrCat(op_, " (rank ", c_.rank_, " of ", c_.size_, "): NCCL reported ", c_.nccl_->error_string(async));
      c_.abort(why);
      return finish(absl::UnavailableError(why), s);
    }
    const double waited = std::chrono::duration<double>(Clock::now() - submitted_).count();
    if (Clock::now() - submitted_ > c_.options_.timeout) {
      const std::string why =
          absl::StrCat(op_, " (rank ", c_.rank_, " of ", c_.size_, ") on NCCL did not complete after ",
                       absl::StrFormat("%.1f", waited), " s (comm.timeout_s); a peer rank is gone or stuck");
      c_.abort(why);
      return finish(absl::DeadlineExceededError(why), s);
    }
    return false;
  }
  double run_seconds() const override { return seconds_; }

 private:
  bool finish(absl::Status st, absl::Status* s) {
    done_ = true;
    status_ = std::move(st);
    float ms = 0;
    if (status_.ok() && cudaEventElapsedTime(&ms, start_, end_) == cudaSuccess) seconds_ = ms / 1e3;
    *s = status_;
    return true;
  }
  NcclCommunicator& c_;
  std::string op_;
  cudaEvent_t start_, end_;
  Clock::time_point submitted_;
  bool done_ = false;
  absl::Status status_;
  double seconds_ = 0;
};

absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::create(rendezvous::Store& store,
                                                                           const std::string& key, int rank, int size,
                                                                           int device, cudaStream_t compute,
                                                                           CommOptions options) {
  TY_ASSIGN_OR_RETURN(const NcclLibrary* nccl, NcclLibrary::get());
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator());
  c->nccl_ = nccl;
  c->rank_ = rank;
  c->size_ = size;
  c->device_ = device;
  c->compute_ = compute;
  c->options_ = options;
  const std::string where = absl::StrCat("NCCL setup (rank ", rank, " of ", size, ", CUDA device ", device, ")");
  TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaSetDevice(device), where.c_str()));

  // 1. The unique id: drawn by rank 0, read by every rank from the store.
  ncclUniqueId id;
  std::memset(&id, 0, sizeof id);
  const auto deadline = rendezvous::Store::Clock::now() + options.timeout;
  if (rank == 0) {
    TY_RETURN_IF_ERROR(nccl->check(nccl->get_unique_id(&id), "ncclGetUniqueId", where));
    TY_RETURN_IF_ERROR(store.set(key, std::string(id.internal, sizeof id.internal)));
  }
  TY_ASSIGN_OR_RETURN(const std::string bytes, store.get(key, deadline));
  if (bytes.size() != sizeof id.internal)
    return absl::UnavailableError(absl::StrCat(where, ": the unique id under '", key, "' in ", store.describe(),
                                               " has ", bytes.size(), " bytes, not ", sizeof id.internal));
  std::memcpy(id.internal, bytes.data(), sizeof id.internal);

  // 2. Non-blocking init, polled against the timeout.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  TY_RETURN_IF_ERROR(
      nccl->check(nccl->init_rank_config(&c->comm_, c->size_, id, c->rank_, &config), "ncclCommInitRankConfig", where));
  TY_RETURN_IF_ERROR(c->finish_setup(where));
  return c;
}

absl::Status NcclCommunicator::finish_setup(const std::string& where) {
  const auto t0 = Clock::now();
  for (;;) {
    ncclResult_t state = ncclInProgress;
    nccl_->async_error(comm_, &state);
    if (state == ncclSuccess) break;
    if (state != ncclInProgress) {
      absl::Status st = nccl_->check(state, "ncclCommInitRankConfig", where);
      nccl_->abort(comm_);
      comm_ = nullptr;
      return absl::UnavailableError(st.message());
    }
    if (Clock::now() - t0 > options_.timeout) {
      nccl_->abort(comm_);
      comm_ = nullptr;
      return absl::DeadlineExceededError(absl::StrCat(where, ": the communicator was not ready after ",
                                                      std::chrono::duration<double>(Clock::now() - t0).count(),
                                                      " s (comm.timeout_s); is every rank running?"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // 3. The comm stream, and a float for barrier().
  TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), where.c_str()));
  TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaMalloc(reinterpret_cast<void**>(&scratch_), sizeof(float)), where.c_str()));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Communicator>> NcclCommunicator::do_split(int color, int key) {
  const std::string where = absl::StrCat(this->where("split"), " color ", color);
  if (absl::Status st = broken(); !st.ok()) return st;
  if (nccl_->comm_split == nullptr)
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": this NCCL has no ncclCommSplit (2.18 or newer needed)"));
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator());
  c->nccl_ = nccl_;
  c->device_ = device_;
  c->compute_ = compute_;
  c->options_ = options_;
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  TY_RETURN_IF_ERROR(
      nccl_->check(nccl_->comm_split(comm_, color == kNoGroup ? NCCL_SPLIT_NOCOLOR : color, key, &c->comm_, &config),
                   "ncclCommSplit", where));
  if (color == kNoGroup) return std::unique_ptr<Communicator>();
  TY_RETURN_IF_ERROR(c->finish_setup(where));
  int n = 0, r = 0;
  nccl_->count(c->comm_, &n);
  nccl_->user_rank(c->comm_, &r);
  c->size_ = n;
  c->rank_ = r;
  c->group_ = absl::StrCat(group_, "/split ", color);
  return std::unique_ptr<Communicator>(std::move(c));
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ != nullptr) (aborted_ ? nccl_->abort(comm_) : nccl_->destroy(comm_));
  if (scratch_ != nullptr) cudaFree(scratch_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void NcclCommunicator::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_) return;
  broken_ = why;
  aborted_ = true;
  nccl_->abort(comm_);
  comm_ = nullptr;
}

absl::Status NcclCommunicator::broken() const {
  if (!aborted_) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  return absl::UnavailableError(absl::StrCat("the NCCL communicator was aborted earlier: ", broken_));
}

template <class Enqueue>
CommHandlePtr NcclCommunicator::launch(const std::string& op, std::initializer_list<const Tensor*> tensors,
                                       Enqueue enqueue) {
  if (absl::Status st = broken(); !st.ok()) return done_handle(st);
  for (const Tensor* t : tensors)
    if (t->device() != Device{DeviceKind::kCUDA, device_})
      return done_handle(absl::InvalidArgumentError(absl::StrCat(
          where(op.c_str()), ": NCCL takes tensors on cuda:", device_, ", got one on ", t->device().str())));
  cudaEvent_t ready, start, end;
  cudaEventCreateWithFlags(&ready, cudaEventDisableTiming);
  cudaEventCreate(&start);
  cudaEventCreate(&end);
  absl::Status st = TY_CUDA_STATUS(cudaEventRecord(ready, compute_), op.c_str());
  if (st.ok()) st = TY_CUDA_STATUS(cudaStreamWaitEvent(stream_, ready, 0), op.c_str());
  if (st.ok()) st = TY_CUDA_STATUS(cudaEventRecord(start, stream_), op.c_str());
  if (st.ok()) st = enqueue();
  if (st.ok()) st = TY_CUDA_STATUS(cudaEventRecord(end, stream_), op.c_str());
  cudaEventDestroy(ready);  // released once recorded work completes
  if (!st.ok()) {
    cudaEventDestroy(start);
    cudaEventDestroy(end);
    return done_handle(st);
  }
  return std::make_unique<Handle>(*this, op, start, end);
}

CommHandlePtr NcclCommunicator::do_allreduce(Tensor t, ReduceOp op) {
  return launch("allreduce", {&t}, [&] {
    return nccl_->check(nccl_->all_reduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t.dtype()),
                                          nccl_op(op), comm_, stream_),
                        "ncclAllReduce", "allreduce");
  });
}

CommHandlePtr NcclCommunicator::do_broadcast(Tensor t, int root) {
  return launch("broadcast", {&t}, [&] {
    return nccl_->check(
        nccl_->broadcast(t.raw(), t.raw(), static_cast<size_t>(t.numel()), nccl_type(t.dtype()), root, comm_, stream_),
        "ncclBroadcast", "broadcast");
  });
}

CommHandlePtr NcclCommunicator::do_allgather(Tensor in, Tensor out) {
  return launch("allgather", {&in, &out}, [&] {
    return nccl_->check(
        nccl_->all_gather(in.raw(), out.raw(), static_cast<size_t>(in.numel()), nccl_type(in.dtype()), comm_, stream_),
        "ncclAllGather", "allgather");
  });
}

CommHandlePtr NcclCommunicator::do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  return launch("reduce_scatter", {&in, &out}, [&] {
    return nccl_->check(nccl_->reduce_scatter(in.raw(), out.raw(), static_cast<size_t>(out.numel()),
                                              nccl_type(in.dtype()), nccl_op(op), comm_, stream_),
                        "ncclReduceScatter", "reduce_scatter");
  });
}

CommHandlePtr NcclCommunicator::do_barrier() {
  return launch("barrier", {}, [&] {
    return nccl_->check(nccl_->all_reduce(scratch_, scratch_, 1, ncclFloat32, ncclSum, comm_, stream_), "ncclAllReduce",
                        "barrier");
  });
}

CommHandlePtr NcclCommunicator::do_send(Tensor t, int dst, int) {
  return launch("send", {&t}, [&] {
    return nccl_->check(nccl_->send(t.raw(), static_cast<size_t>(t.numel()), nccl_type(t.dtype()), dst, comm_, stream_),
                        "ncclSend", "send");
  });
}

CommHandlePtr NcclCommunicator::do_recv(Tensor t, int src, int) {
  return launch("recv", {&t}, [&] {
    return nccl_->check(nccl_->recv(t.raw(), static_cast<size_t>(t.numel()), nccl_type(t.dtype()), src, comm_, stream_),
                        "ncclRecv", "recv");
  });
}

}  // namespace ty
