// Communicator: collectives and point-to-point transfers among the ranks of one group.
// Every operation is asynchronous (a CommHandle) and bounded by a timeout: a rank whose
// peers stop answering fails with an error naming the operation, the group and the elapsed
// time instead of hanging.
//
// The public calls are thin: each is validated here, in one place, before a backend sees
// it — tensors defined and where the backend moves them (host memory for MPI and the
// in-process backend, this rank's GPU for NCCL), dtypes (reductions take f32 or f64; data
// movement any dtype, u8 for byte payloads), sizes (allgather's out holds size() x in,
// reduce_scatter's in holds size() x out), root and peer ranks, tags — and an error names
// the operation, the group and the rank. Backends: in-process (ranks as threads, for
// tests), MPI, NCCL; UCX comes next. split() makes sub-groups on every backend.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "comm/arrivals.h"
#include "runtime/tensor.h"

namespace ty {

enum class ReduceOp { kSum, kAvg, kMax };

struct CommOptions {
  // Bound on every operation, from submission to completion (comm.timeout_s).
  std::chrono::milliseconds timeout{std::chrono::seconds(300)};
};

// An operation in flight. Exactly one wait() (or a test() that returned true) ends it.
class CommHandle {
 public:
  virtual ~CommHandle() = default;
  // Blocks until the operation completes or the timeout passes.
  virtual absl::Status wait() = 0;
  // Whether it completed (with its status in `status`), without blocking.
  virtual bool test(absl::Status* status) = 0;
  // Seconds the backend spent executing it, once completed (excludes time queued).
  virtual double run_seconds() const = 0;
};

using CommHandlePtr = std::unique_ptr<CommHandle>;

// The entry points every backend implements, declared once: a backend class writes
// TY_COMMUNICATOR_BACKEND_OPS in its protected section (and may also override
// do_allreduce_now and moves_device_tensors).
#define TY_COMMUNICATOR_BACKEND_OPS                                             \
  CommHandlePtr do_allreduce(Tensor t, ReduceOp op) override;                   \
  CommHandlePtr do_broadcast(Tensor t, int root) override;                      \
  CommHandlePtr do_allgather(Tensor in, Tensor out) override;                   \
  CommHandlePtr do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) override; \
  CommHandlePtr do_barrier() override;                                          \
  CommHandlePtr do_send(Tensor t, int dst, int tag) override;                   \
  CommHandlePtr do_recv(Tensor t, int src, int tag) override;                   \
  absl::StatusOr<std::unique_ptr<Communicator>> do_split(int color, int key) override;

// A handle that completed (or failed) before it started.
CommHandlePtr done_handle(absl::Status status);

class Communicator;
// Reduces host values over the ranks of `comm` in place (metrics, decisions every rank
// must share), as one f64 allreduce_now.
absl::Status allreduce_values(Communicator& comm, std::vector<double>& values, ReduceOp op);

class Communicator {
 public:
  // User tags for send/recv: 0 <= tag < kMaxTag (MPI guarantees at least 32767).
  static constexpr int kMaxTag = 32768;
  // split(): a rank that passes this color joins no sub-group (and gets null).
  static constexpr int kNoGroup = -1;

  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "mpi", "inprocess", "nccl"
  virtual std::string backend() const = 0;
  // The group's name in errors ("world", "world/split 3").
  virtual std::string group() const { return "world"; }
  // For the run header: the backend and, where it chooses them, its transports
  // ("ucx (tcp, sysv)").
  virtual std::string describe() const { return backend(); }

  // Tensors stay owned by the caller and must outlive the handle. Every rank calls the
  // collectives in the same order with tensors of the same dtype and numel.
  CommHandlePtr allreduce(Tensor t, ReduceOp op);
  // The same, for a caller that waits for it right away: backends run it on the calling
  // thread when nothing else is in flight, saving two thread hand-offs.
  absl::Status allreduce_now(Tensor t, ReduceOp op);
  CommHandlePtr broadcast(Tensor t, int root);
  // out holds size() * in.numel() elements, rank r's input at r * in.numel().
  CommHandlePtr allgather(Tensor in, Tensor out);
  // in holds size() * out.numel() elements; rank r gets the reduction of block r.
  CommHandlePtr reduce_scatter(Tensor in, Tensor out, ReduceOp op);
  CommHandlePtr barrier();
  // Messages between a pair of ranks with the same tag arrive in the order sent. (NCCL has
  // no tags: there every message between a pair arrives in the order sent, whatever its tag.)
  // Operations of a group — and on MPI of all groups, which share one thread — run one at a
  // time in submission order: a recv holds the ones after it until its message arrives, so
  // two ranks must post matching point-to-point operations in the same order (a large send
  // completes only when its receive runs).
  CommHandlePtr send(Tensor t, int dst, int tag);
  CommHandlePtr recv(Tensor t, int src, int tag);
  // Collective: the ranks that pass the same `color` (>= 0) form a sub-group, ordered by
  // `key`, then by rank here; kNoGroup joins none (null). The sub-group shares this
  // group's backend (MPI: the same MPI thread).
  absl::StatusOr<std::unique_ptr<Communicator>> split(int color, int key);

  // (optional) Names, in the error of a collective that times out, the ranks that never
  // reached it (arrivals.h); groups split from this one afterwards inherit it.
  void set_arrivals(std::shared_ptr<Arrivals> arrivals) { arrivals_ = std::move(arrivals); }

 protected:
  // Where the tensors this backend moves live: host memory, or (NCCL) a device.
  virtual bool moves_device_tensors() const { return false; }
  virtual CommHandlePtr do_allreduce(Tensor t, ReduceOp op) = 0;
  virtual absl::Status do_allreduce_now(Tensor t, ReduceOp op) { return do_allreduce(std::move(t), op)->wait(); }
  virtual CommHandlePtr do_broadcast(Tensor t, int root) = 0;
  virtual CommHandlePtr do_allgather(Tensor in, Tensor out) = 0;
  virtual CommHandlePtr do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) = 0;
  virtual CommHandlePtr do_barrier() = 0;
  virtual CommHandlePtr do_send(Tensor t, int dst, int tag) = 0;
  virtual CommHandlePtr do_recv(Tensor t, int src, int tag) = 0;
  // Called with a checked color (>= 0 or kNoGroup) on every rank of the group.
  virtual absl::StatusOr<std::unique_ptr<Communicator>> do_split(int color, int key) = 0;

  // "allreduce on group world (rank 1 of 4, mpi)": the prefix of every error.
  std::string where(const char* op) const;
  // For a backend whose caller is stuck in a blocking call and cannot return the timeout:
  // `message` with the ranks that never reached the oldest collective still in flight
  // (arrivals.h), or `message` itself without arrivals. Any thread may call it.
  std::string explain_stuck(const std::string& message);

 private:
  // OK, or an InvalidArgument error naming the op, group and rank.
  absl::Status check_tensor(const char* op, const Tensor& t, bool reduction) const;
  absl::Status check_peer(const char* op, int peer, const char* role) const;
  // send and recv: the tensor, a peer other than this rank, a user tag.
  absl::Status check_point_to_point(const char* op, const Tensor& t, int peer, const char* role, int tag) const;
  // With arrivals set, a timeout of collective `seq` names the ranks that never reached it.
  // Every public collective takes its number first, checks or not (arrivals.h step 1).
  void track(uint64_t seq);  // collective `seq` is in flight (arrivals only)
  CommHandlePtr explained(CommHandlePtr handle, uint64_t seq);
  absl::Status explained(absl::Status status, uint64_t seq);

  std::shared_ptr<Arrivals> arrivals_;
  uint64_t collectives_ = 0;
  // With arrivals: the numbers of the collectives issued and not yet waited for.
  std::shared_ptr<std::mutex> in_flight_mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::set<uint64_t>> in_flight_ = std::make_shared<std::set<uint64_t>>();
};

}  // namespace ty
