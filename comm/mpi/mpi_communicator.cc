#include "comm/mpi/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "absl/strings/str_cat.h"
#include "comm/scale.h"

namespace ty {
namespace {

MPI_Datatype mpi_type(const Tensor& t) {
  switch (t.dtype()) {
    case DType::kF32: return MPI_FLOAT;
    case DType::kF64: return MPI_DOUBLE;
    case DType::kI32: return MPI_INT;
    case DType::kU8: return MPI_BYTE;
    case DType::kBF16:
    case DType::kF16: return MPI_UINT16_T;  // moved, never reduced (the Communicator checks)
  }
  LOG(FATAL) << "MPI has no type for " << dtype_name(t.dtype()) << " tensors";
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

// A step that makes one blocking call on the queue thread (Open MPI's tuned blocking
// collectives are about twice as fast as its non-blocking ones); `after` runs on success.
OpQueue::Step blocking(const char* call, std::function<int()> run, std::function<void()> after = {}) {
  return [=](OpQueue::Clock::time_point) -> std::optional<absl::Status> {
    if (int rc = run(); rc != MPI_SUCCESS) return mpi_error(call, rc);
    if (after) after();
    return absl::OkStatus();
  };
}

// A step that posts a non-blocking call once, then polls MPI_Test; `after` runs on success.
OpQueue::Step polling(const char* call, std::function<int(MPI_Request*)> post, std::function<void()> after = {}) {
  auto req = std::make_shared<MPI_Request>(MPI_REQUEST_NULL);
  auto posted = std::make_shared<bool>(false);
  return [=](OpQueue::Clock::time_point) -> std::optional<absl::Status> {
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

struct MpiCommunicator::Shared {
  std::unique_ptr<OpQueue> queue;
  bool owns_mpi = false;
  // The world communicator's explanation of a stuck collective (the ranks that never
  // reached it); set while it lives.
  std::mutex mu;
  std::function<std::string(const std::string&)> explain;
  ~Shared() {
    if (queue->broken()) return;  // the communicators' destructors aborted the job already
    if (owns_mpi) queue->run_on_thread([] { MPI_Finalize(); });
  }
};

OpQueue& MpiCommunicator::queue() const { return *shared_->queue; }

std::string MpiCommunicator::op(const char* name) const {
  return absl::StrCat(name, " on group ", group_, " (rank ", rank_, " of ", size_, ")");
}

absl::StatusOr<std::unique_ptr<MpiCommunicator>> MpiCommunicator::create(CommOptions options) {
  // The queue's name needs the rank, known only after init: start it with a placeholder.
  auto boot = std::make_unique<OpQueue>("mpi", options.timeout);
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
  auto shared = std::make_shared<Shared>();
  boot->set_on_stuck([s = shared.get()](const std::string& msg) {  // the queue dies with Shared
    std::string why = msg;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      if (s->explain) why = s->explain(msg);
    }
    std::fprintf(stderr, "trainyard: error: %s; aborting the job\n", why.c_str());
    MPI_Abort(MPI_COMM_WORLD, kExitRetryable);
  });
  shared->queue = std::move(boot);
  shared->owns_mpi = !initialized;
  auto world = std::unique_ptr<MpiCommunicator>(new MpiCommunicator(shared, MPI_COMM_WORLD, rank, size, "world"));
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->explain = [w = world.get()](const std::string& msg) { return w->explain_stuck(msg); };
  }
  return world;
}

MpiCommunicator::~MpiCommunicator() {
  if (comm_ == MPI_COMM_WORLD) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->explain = nullptr;
  }
  if (queue().broken()) {
    // The queue thread may be inside a collective that will never complete: end the job
    // from here (mpirun then stops every rank) rather than join it.
    MPI_Abort(MPI_COMM_WORLD, kExitRetryable);
    std::_Exit(kExitRetryable);
  }
  if (comm_ != MPI_COMM_WORLD) queue().run_on_thread([c = comm_]() mutable { MPI_Comm_free(&c); });
}

namespace {
OpQueue::Step allreduce_step(Tensor t, ReduceOp op, MPI_Comm comm, int size) {
  return blocking(
      "MPI_Allreduce",
      [t, op, comm] { return MPI_Allreduce(MPI_IN_PLACE, t.raw(), count_of(t), mpi_type(t), mpi_op(op), comm); },
      [t, op, size]() mutable {
        if (op == ReduceOp::kAvg) scale_in_place(t, 1.0 / size);
      });
}
}  // namespace

CommHandlePtr MpiCommunicator::do_allreduce(Tensor t, ReduceOp op) {
  return queue().submit(this->op("allreduce"), allreduce_step(t, op, comm_, size_));
}

absl::Status MpiCommunicator::do_allreduce_now(Tensor t, ReduceOp op) {
  return queue().run_now(this->op("allreduce"), allreduce_step(t, op, comm_, size_));
}

CommHandlePtr MpiCommunicator::do_broadcast(Tensor t, int root) {
  return queue().submit(op("broadcast"), blocking("MPI_Bcast", [t, root, c = comm_] {
                          return MPI_Bcast(t.raw(), count_of(t), mpi_type(t), root, c);
                        }));
}

CommHandlePtr MpiCommunicator::do_allgather(Tensor in, Tensor out) {
  return queue().submit(op("allgather"), blocking("MPI_Allgather", [in, out, c = comm_] {
                          return MPI_Allgather(in.raw(), count_of(in), mpi_type(in), out.raw(), count_of(in),
                                               mpi_type(out), c);
                        }));
}

CommHandlePtr MpiCommunicator::do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  return queue().submit(this->op("reduce_scatter"), blocking(
                                                        "MPI_Reduce_scatter_block",
                                                        [in, out, op, c = comm_] {
                                                          return MPI_Reduce_scatter_block(in.raw(), out.raw(),
                                                                                          count_of(out), mpi_type(in),
                                                                                          mpi_op(op), c);
                                                        },
                                                        [out, op, n = size_]() mutable {
                                                          if (op == ReduceOp::kAvg) scale_in_place(out, 1.0 / n);
                                                        }));
}

CommHandlePtr MpiCommunicator::do_barrier() {
  return queue().submit(op("barrier"), blocking("MPI_Barrier", [c = comm_] { return MPI_Barrier(c); }));
}

CommHandlePtr MpiCommunicator::do_send(Tensor t, int dst, int tag) {
  return queue().submit(absl::StrCat(op("send"), " to rank ", dst),
                        polling("MPI_Isend", [t, dst, tag, c = comm_](MPI_Request* r) {
                          return MPI_Isend(t.raw(), count_of(t), mpi_type(t), dst, tag, c, r);
                        }));
}

CommHandlePtr MpiCommunicator::do_recv(Tensor t, int src, int tag) {
  return queue().submit(absl::StrCat(op("recv"), " from rank ", src),
                        polling("MPI_Irecv", [t, src, tag, c = comm_](MPI_Request* r) {
                          return MPI_Irecv(t.raw(), count_of(t), mpi_type(t), src, tag, c, r);
                        }));
}

absl::StatusOr<std::unique_ptr<Communicator>> MpiCommunicator::do_split(int color, int key) {
  // The results live in a shared block: a step that outlives a timed-out wait writes there.
  struct Result {
    MPI_Comm sub = MPI_COMM_NULL;
    int rank = 0, size = 0;
  };
  auto r = std::make_shared<Result>();
  auto split = [r, color, key, c = comm_] {
    int rc = MPI_Comm_split(c, color == kNoGroup ? MPI_UNDEFINED : color, key, &r->sub);
    if (rc == MPI_SUCCESS && r->sub != MPI_COMM_NULL) {
      MPI_Comm_set_errhandler(r->sub, MPI_ERRORS_RETURN);
      MPI_Comm_rank(r->sub, &r->rank);
      MPI_Comm_size(r->sub, &r->size);
    }
    return rc;
  };
  absl::Status st = queue().submit(op("split"), blocking("MPI_Comm_split", split))->wait();
  if (!st.ok()) return st;
  if (r->sub == MPI_COMM_NULL) return std::unique_ptr<Communicator>();
  return std::unique_ptr<Communicator>(
      new MpiCommunicator(shared_, r->sub, r->rank, r->size, absl::StrCat(group_, "/split ", color)));
}

}  // namespace ty
