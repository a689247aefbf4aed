// NcclCommunicator: the job's collectives and point-to-point transfers on CUDA device
// tensors, through NCCL, on a comm stream of its own (one rank per GPU).
//
// Setup (create), in order:
//   1. Rank 0 draws an ncclUniqueId and sets its 128 bytes under `key` in the job's
//      rendezvous::Store (over MPI under mpirun; a file or TCP store for ranks no launcher
//      started); every rank gets it from there.
//   2. Every rank selects its device and starts ncclCommInitRankConfig non-blocking, then
//      polls ncclCommGetAsyncError until the communicator is ready; past comm.timeout_s it
//      aborts it and fails naming the rank and the elapsed time.
//   3. A non-blocking comm stream is created.
// Each operation, in order:
//   1. An event recorded on the caller's compute stream marks the work that produced the
//      tensors (for data parallel: the point in backward where a bucket became ready).
//   2. The comm stream waits for that event, so the collective overlaps the rest of
//      backward, and NCCL enqueues it, between start and end events.
//   3. The handle polls the end event and ncclCommGetAsyncError. An NCCL error, or no
//      completion within comm.timeout_s, aborts the communicator (later operations fail
//      at once) and fails with the operation, the rank and the elapsed time.
// Tensors must be on this rank's device (the Communicator checks where; NCCL checks the
// device index). NCCL has no tags: send/recv between a pair of ranks match in the order
// they are called, whatever their tags. split() uses ncclCommSplit (NCCL 2.18 or newer).
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/nccl/nccl_library.h"
#include "comm/rendezvous/store.h"

namespace ty {

class NcclCommunicator final : public Communicator {
 public:
  // `store`: where rank 0 publishes the unique id under `key` and the others read it.
  // `compute`: the stream whose work the operations are ordered after (null: the legacy
  // default stream).
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> create(rendezvous::Store& store, const std::string& key,
                                                                  int rank, int size, int device, cudaStream_t compute,
                                                                  CommOptions options = {});
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  std::string group() const override { return group_; }
  cudaStream_t comm_stream() const { return stream_; }

  // Fails every operation from now on (after a timeout or an NCCL error).
  void abort(const std::string& why);
  // The error that aborted the communicator, or OK.
  absl::Status broken() const;

 protected:
  bool moves_device_tensors() const override { return true; }
  TY_COMMUNICATOR_BACKEND_OPS

 private:
  class Handle;
  NcclCommunicator() = default;
  // Polls a communicator started non-blocking until it is ready; past the timeout aborts
  // it and fails. Then creates the comm stream and the barrier's scratch float.
  absl::Status finish_setup(const std::string& where);
  // Checks the tensors, orders the comm stream after the compute stream, runs `enqueue`
  // between the handle's events.
  template <class Enqueue>
  CommHandlePtr launch(const std::string& op, std::initializer_list<const Tensor*> tensors, Enqueue enqueue);

  const NcclLibrary* nccl_ = nullptr;
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1, device_ = 0;
  std::string group_ = "world";
  cudaStream_t compute_ = nullptr, stream_ = nullptr;
  float* scratch_ = nullptr;  // one float on the device, for barrier()
  CommOptions options_;
  mutable std::mutex mu_;
  std::string broken_;
  std::atomic<bool> aborted_{false};
};

}  // namespace ty
