// Communicator: collectives and point-to-point transfers among the ranks of one job, on
// host tensors. Every operation is asynchronous (a CommHandle) and bounded by a timeout:
// a rank whose peers stop answering fails with an error naming the operation, the group
// and the elapsed time instead of hanging. Backends: in-process (ranks as threads, for
// tests), MPI; NCCL and UCX plug in behind the same interface.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "mpi", "inprocess", ...
  virtual std::string backend() const = 0;
  // The group's name in errors ("world").
  virtual std::string group() const { return "world"; }

  // Tensors stay owned by the caller and must outlive the handle. Every rank calls the
  // collectives in the same order with tensors of the same dtype and numel (f32 or f64).
  virtual CommHandlePtr allreduce(Tensor t, ReduceOp op) = 0;
  // (optional) The same, for a caller that waits for it right away: backends run it on
  // the calling thread when nothing else is in flight, saving two thread hand-offs.
  virtual absl::Status allreduce_now(Tensor t, ReduceOp op) { return allreduce(std::move(t), op)->wait(); }
  virtual CommHandlePtr broadcast(Tensor t, int root) = 0;
  // out holds size() * in.numel() elements, rank r's input at r * in.numel().
  virtual CommHandlePtr allgather(Tensor in, Tensor out) = 0;
  // in holds size() * out.numel() elements; rank r gets the reduction of block r.
  virtual CommHandlePtr reduce_scatter(Tensor in, Tensor out, ReduceOp op) = 0;
  virtual CommHandlePtr barrier() = 0;
  virtual CommHandlePtr send(Tensor t, int dst, int tag) = 0;
  virtual CommHandlePtr recv(Tensor t, int src, int tag) = 0;
};

}  // namespace ty
