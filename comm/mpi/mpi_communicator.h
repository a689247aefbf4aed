// The MPI backend (Open MPI): the world communicator of a job launched by mpirun or srun.
// MPI calls — init, the collectives (blocking calls: Open MPI's tuned algorithms),
// point-to-point (non-blocking, polled), finalize — run one at a time through the
// communicator's OpQueue (MPI_THREAD_SERIALIZED): on its thread, so collectives run while
// the training thread computes, or inline on a caller that waits for the next op.
// A collective stuck past comm.timeout_s fails its waiter; the destructor then aborts the
// job instead of joining the stuck thread.
#pragma once

#include <memory>

#include "comm/communicator.h"
#include "comm/op_queue.h"

namespace ty {

class MpiCommunicator final : public Communicator {
 public:
  // Initializes MPI (unless the process already did) and wraps MPI_COMM_WORLD.
  static absl::StatusOr<std::unique_ptr<MpiCommunicator>> create(CommOptions options);
  // Finalizes MPI if create() initialized it; aborts the whole job instead when an
  // operation failed (peers may be stuck in a collective that can never complete).
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  CommHandlePtr allreduce(Tensor t, ReduceOp op) override;
  absl::Status allreduce_now(Tensor t, ReduceOp op) override;
  CommHandlePtr broadcast(Tensor t, int root) override;
  CommHandlePtr allgather(Tensor in, Tensor out) override;
  CommHandlePtr reduce_scatter(Tensor in, Tensor out, ReduceOp op) override;
  CommHandlePtr barrier() override;
  CommHandlePtr send(Tensor t, int dst, int tag) override;
  CommHandlePtr recv(Tensor t, int src, int tag) override;

 private:
  MpiCommunicator(int rank, int size, bool owns_mpi, std::unique_ptr<OpQueue> queue)
      : rank_(rank), size_(size), owns_mpi_(owns_mpi), queue_(std::move(queue)) {}
  int rank_, size_;
  bool owns_mpi_;
  std::unique_ptr<OpQueue> queue_;
};

}  // namespace ty
