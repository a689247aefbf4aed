#include "comm/mpi/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

MPI_Datatype mpi_type(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kF32: return MPI_FLOAT;
    case DType::kF64: return MPI_DOUBLE;
    case DType::kI32: return MPI_INT;
    case DType::kU8: return MPI_BYTE;
    case DType::kBF16:
    case DType::kF16: break;  // 16-bit floats stay on the device (NCCL)
  }
  LOG(FATAL) << "MPI has no reduction for " << dtype_name(t.dtype()) << " tensors";
}

int count_of(const Tensor& t) {
  CHECK_LE(t.numel(), INT_MAX) << "an MPI message of " << t.numel() << " elements";
  return static_cast<int>(t.numel());
}

absl::Status mpi_error(const char* call, int code) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  // A failing MPI call means a peer or the fabric is gone: retryable (exit class 3).
  return absl::UnavailableError(absl::StrCat(call, " failed: ", std::string(msg, len)));
}

void scale(Tensor& t, double s) {
  if (t.dtype() == DType::kF64) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] *= s;
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(t.data<float>()[i] * s);
  }
}

// A step that makes one blocking call on the queue thread (Open MPI's tuned blocking
// collectives are about twice as fast as its non-blocking ones); `after` runs on success.
OpQueue::Step blocking(const char* call, std::function<int()> run, std::function<void()> after = {}) {
  return [=](OpQueue::Clock::time_point) -> absl::Status {
    if (int rc = run(); rc != MPI_SUCCESS) return mpi_error(call, rc);
    if (after) after();
    return absl::OkStatus();
  };
}

// A step that posts a non-blocking call once, then polls MPI_Test; `after` runs on success.
OpQueue::Step polling(const char* call, std::function<int(MPI_Request*)> post, std::function<void()> after = {}) {
  auto req = std::make_shared<MPI_Request>(MPI_REQUEST_NULL);
  auto posted = std::make_shared<bool>(false);
  return [=](OpQueue::Clock::time_point) -> absl::Status {
    if (!*posted) {
      *posted = true;
      if (int rc = post(req.get()); rc != MPI_SUCCESS) return mpi_error(call, rc);
    }
    int done = 0;
    if (int rc = MPI_Test(req.get(), &done, MPI_STATUS_IGNORE); rc != MPI_SUCCESS) return mpi_error("MPI_Test", rc);
    if (!done) return OpQueue::again();
    if (after) after();
    return absl::OkStatus();
  };
}

// The exit class of a job whose peers stopped answering: retryable (worker/job/exit_codes.h).
constexpr int kExitRetryable = 3;

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::kMax ? MPI_MAX : MPI_SUM; }

}  // namespace

absl::StatusOr<std::unique_ptr<MpiCommunicator>> MpiCommunicator::create(CommOptions options) {
  // The queue's name needs the rank, known only after init: start it with a placeholder.
  auto boot = std::make_unique<OpQueue>("world (mpi)", options.timeout);
  int provided = 0, rank = 0, size = 0, rc = MPI_SUCCESS, initialized = 0;
  boot->run_on_thread([&] {
    MPI_Initialized(&initialized);
    if (!initialized) rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  });
  if (rc != MPI_SUCCESS) return mpi_error("MPI_Init_thread", rc);
  if (!initialized && provided < MPI_THREAD_SERIALIZED)
    return absl::FailedPreconditionError("this MPI library does not provide MPI_THREAD_SERIALIZED");
  boot->set_on_stuck([](const std::string& msg) {
    std::fprintf(stderr, "trainyard: error: %s; aborting the job\n", msg.c_str());
    MPI_Abort(MPI_COMM_WORLD, kExitRetryable);
  });
  return std::unique_ptr<MpiCommunicator>(new MpiCommunicator(rank, size, !initialized, std::move(boot)));
}

MpiCommunicator::~MpiCommunicator() {
  if (queue_->broken()) {
    // The queue thread may be inside a collective that will never complete: end the job
    // from here (mpirun then stops every rank) rather than join it.
    MPI_Abort(MPI_COMM_WORLD, kExitRetryable);
    std::_Exit(kExitRetryable);
  }
  if (owns_mpi_) queue_->run_on_thread([] { MPI_Finalize(); });
}

namespace {
OpQueue::Step allreduce_step(Tensor t, ReduceOp op, int size) {
  return blocking(
      "MPI_Allreduce",
      [t, op] {
        return MPI_Allreduce(MPI_IN_PLACE, t.raw(), count_of(t), mpi_type(t), mpi_op(op), MPI_COMM_WORLD);
      },
      [t, op, size]() mutable {
        if (op == ReduceOp::kAvg) scale(t, 1.0 / size);
      });
}
}  // namespace

CommHandlePtr MpiCommunicator::allreduce(Tensor t, ReduceOp op) {
  return queue_->submit(absl::StrCat("allreduce (rank ", rank_, " of ", size_, ")"), allreduce_step(t, op, size_));
}

absl::Status MpiCommunicator::allreduce_now(Tensor t, ReduceOp op) {
  return queue_->run_now(absl::StrCat("allreduce (rank ", rank_, " of ", size_, ")"), allreduce_step(t, op, size_));
}

CommHandlePtr MpiCommunicator::broadcast(Tensor t, int root) {
  return queue_->submit(absl::StrCat("broadcast (rank ", rank_, " of ", size_, ")"),
                        blocking("MPI_Bcast", [t, root] {
                          return MPI_Bcast(t.raw(), count_of(t), mpi_type(t), root, MPI_COMM_WORLD);
                        }));
}

CommHandlePtr MpiCommunicator::allgather(Tensor in, Tensor out) {
  return queue_->submit(absl::StrCat("allgather (rank ", rank_, " of ", size_, ")"),
                        blocking("MPI_Allgather", [in, out] {
                          return MPI_Allgather(in.raw(), count_of(in), mpi_type(in), out.raw(), count_of(in),
                                               mpi_type(out), MPI_COMM_WORLD);
                        }));
}

CommHandlePtr MpiCommunicator::reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  return queue_->submit(absl::StrCat("reduce_scatter (rank ", rank_, " of ", size_, ")"),
                        blocking("MPI_Reduce_scatter_block",
                                 [in, out, op] {
                                   return MPI_Reduce_scatter_block(in.raw(), out.raw(), count_of(out), mpi_type(in),
                                                                   mpi_op(op), MPI_COMM_WORLD);
                                 },
                                 [out, op, n = size_]() mutable {
                                   if (op == ReduceOp::kAvg) scale(out, 1.0 / n);
                                 }));
}

CommHandlePtr MpiCommunicator::barrier() {
  return queue_->submit(absl::StrCat("barrier (rank ", rank_, " of ", size_, ")"),
                        blocking("MPI_Barrier", [] { return MPI_Barrier(MPI_COMM_WORLD); }));
}

CommHandlePtr MpiCommunicator::send(Tensor t, int dst, int tag) {
  return queue_->submit(absl::StrCat("send to rank ", dst, " (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Isend", [t, dst, tag](MPI_Request* r) {
                          return MPI_Isend(t.raw(), count_of(t), mpi_type(t), dst, tag, MPI_COMM_WORLD, r);
                        }));
}

CommHandlePtr MpiCommunicator::recv(Tensor t, int src, int tag) {
  return queue_->submit(absl::StrCat("recv from rank ", src, " (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Irecv", [t, src, tag](MPI_Request* r) {
                          return MPI_Irecv(t.raw(), count_of(t), mpi_type(t), src, tag, MPI_COMM_WORLD, r);
                        }));
}

}  // namespace ty
