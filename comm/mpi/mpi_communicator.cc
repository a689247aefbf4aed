#include "comm/mpi/mpi_communicator.h"

#include <mpi.h>

#include <climits>
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
  }
  return MPI_BYTE;
}

int count_of(const Tensor& t) {
  CHECK_LE(t.numel(), INT_MAX) << "an MPI message of " << t.numel() << " elements";
  return static_cast<int>(t.numel());
}

absl::Status mpi_error(const char* call, int code) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  return absl::InternalError(absl::StrCat(call, " failed: ", std::string(msg, len)));
}

void scale(Tensor& t, double s) {
  if (t.dtype() == DType::kF64) {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] *= s;
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(t.data<float>()[i] * s);
  }
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

MPI_Op mpi_op(ReduceOp op) { return op == ReduceOp::kMax ? MPI_MAX : MPI_SUM; }

}  // namespace

absl::StatusOr<std::unique_ptr<MpiCommunicator>> MpiCommunicator::create(CommOptions options) {
  // The queue's name needs the rank, known only after init: start it with a placeholder.
  auto boot = std::make_unique<OpQueue>("world (mpi)", options.timeout);
  int provided = 0, rank = 0, size = 0, rc = MPI_SUCCESS;
  boot->run_on_thread([&] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) return;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  });
  if (rc != MPI_SUCCESS) return mpi_error("MPI_Init_thread", rc);
  return std::unique_ptr<MpiCommunicator>(new MpiCommunicator(rank, size, std::move(boot)));
}

MpiCommunicator::~MpiCommunicator() {
  const bool broken = queue_->broken();
  queue_->run_on_thread([broken] {
    if (broken) {
      MPI_Abort(MPI_COMM_WORLD, 1);
    } else {
      MPI_Finalize();
    }
  });
}

CommHandlePtr MpiCommunicator::allreduce(Tensor t, ReduceOp op) {
  return queue_->submit(absl::StrCat("allreduce (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Iallreduce",
                                [t, op](MPI_Request* r) {
                                  return MPI_Iallreduce(MPI_IN_PLACE, t.raw(), count_of(t), mpi_type(t), mpi_op(op),
                                                        MPI_COMM_WORLD, r);
                                },
                                [t, op, n = size_]() mutable {
                                  if (op == ReduceOp::kAvg) scale(t, 1.0 / n);
                                }));
}

CommHandlePtr MpiCommunicator::broadcast(Tensor t, int root) {
  return queue_->submit(absl::StrCat("broadcast (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Ibcast", [t, root](MPI_Request* r) {
                          return MPI_Ibcast(t.raw(), count_of(t), mpi_type(t), root, MPI_COMM_WORLD, r);
                        }));
}

CommHandlePtr MpiCommunicator::allgather(Tensor in, Tensor out) {
  return queue_->submit(absl::StrCat("allgather (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Iallgather", [in, out](MPI_Request* r) {
                          return MPI_Iallgather(in.raw(), count_of(in), mpi_type(in), out.raw(), count_of(in),
                                                mpi_type(out), MPI_COMM_WORLD, r);
                        }));
}

CommHandlePtr MpiCommunicator::reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  return queue_->submit(absl::StrCat("reduce_scatter (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Ireduce_scatter_block",
                                [in, out, op](MPI_Request* r) {
                                  return MPI_Ireduce_scatter_block(in.raw(), out.raw(), count_of(out), mpi_type(in),
                                                                   mpi_op(op), MPI_COMM_WORLD, r);
                                },
                                [out, op, n = size_]() mutable {
                                  if (op == ReduceOp::kAvg) scale(out, 1.0 / n);
                                }));
}

CommHandlePtr MpiCommunicator::barrier() {
  return queue_->submit(absl::StrCat("barrier (rank ", rank_, " of ", size_, ")"),
                        polling("MPI_Ibarrier", [](MPI_Request* r) { return MPI_Ibarrier(MPI_COMM_WORLD, r); }));
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
