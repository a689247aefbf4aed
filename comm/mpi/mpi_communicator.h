// The MPI backend (Open MPI): the world communicator of a job launched by mpirun or srun,
// and its sub-groups (split). MPI calls — init, the collectives (blocking calls: Open MPI's
// tuned algorithms), point-to-point (non-blocking, polled), split, free, finalize — run one
// at a time through one OpQueue that the world and all its sub-groups share
// (MPI_THREAD_SERIALIZED): on its thread, so collectives run while the training thread
// computes, or inline on a caller that waits for the next op. A collective stuck past
// comm.timeout_s fails its waiter; the destructor then aborts the job instead of joining
// the stuck thread.
#pragma once

#include <mpi.h>

#include <memory>

#include "comm/communicator.h"
#include "comm/op_queue.h"

namespace ty {

class MpiCommunicator final : public Communicator {
 public:
  // Initializes MPI (unless the process already did) and wraps MPI_COMM_WORLD.
  static absl::StatusOr<std::unique_ptr<MpiCommunicator>> create(CommOptions options);
  // Frees the group (finalizing MPI with the last one if create() initialized it); aborts
  // the whole job instead when an operation failed (peers may be stuck in a collective
  // that can never complete).
  ~MpiCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  std::string group() const override { return group_; }

 protected:
  TY_COMMUNICATOR_BACKEND_OPS
  absl::Status do_allreduce_now(Tensor t, ReduceOp op) override;

 private:
  // The one MPI thread of the process, and whether this process finalizes MPI.
  struct Shared;
  MpiCommunicator(std::shared_ptr<Shared> shared, MPI_Comm comm, int rank, int size, std::string group)
      : shared_(std::move(shared)), comm_(comm), rank_(rank), size_(size), group_(std::move(group)) {}
  OpQueue& queue() const;
  std::string op(const char* name) const;
  std::shared_ptr<Shared> shared_;
  MPI_Comm comm_;
  int rank_, size_;
  std::string group_;
};

}  // namespace ty
