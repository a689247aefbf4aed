// NcclCommunicator: the job's collectives and point-to-point transfers on CUDA device
// tensors, through NCCL, on a comm stream of its own (one rank per GPU).
//
// Setup (create), in order:
//   1. Rank 0 draws an ncclUniqueId; the job's host communicator (MPI now, the
//      coordinator's rendezvous later) broadcasts its 128 bytes to every rank.
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
// Tensors must be on this rank's device (f32 or f64). send/recv match by order per peer;
// NCCL has no tags, so `tag` is checked by nothing.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <memory>
#include <string>

#include "comm/communicator.h"
#include "comm/nccl/nccl_library.h"

namespace ty {

class NcclCommunicator final : public Communicator {
 public:
  // `bootstrap`: the host communicator of the same ranks (used once, for the unique id).
  // `compute`: the stream whose work the operations are ordered after (null: the legacy
  // default stream).
  static absl::StatusOr<std::unique_ptr<NcclCommunicator>> create(Communicator& bootstrap, int device,
                                                                  cudaStream_t compute, CommOptions options = {});
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }
  cudaStream_t comm_stream() const { return stream_; }

  CommHandlePtr allreduce(Tensor t, ReduceOp op) override;
  CommHandlePtr broadcast(Tensor t, int root) override;
  CommHandlePtr allgather(Tensor in, Tensor out) override;
  CommHandlePtr reduce_scatter(Tensor in, Tensor out, ReduceOp op) override;
  CommHandlePtr barrier() override;
  CommHandlePtr send(Tensor t, int dst, int tag) override;
  CommHandlePtr recv(Tensor t, int src, int tag) override;

  // Fails every operation from now on (after a timeout or an NCCL error).
  void abort(const std::string& why);
  // The error that aborted the communicator, or OK.
  absl::Status broken() const;

 private:
  class Handle;
  NcclCommunicator() = default;
  // Checks the tensors, orders the comm stream after the compute stream, runs `enqueue`
  // between the handle's events.
  template <class Enqueue>
  CommHandlePtr launch(const std::string& op, std::initializer_list<const Tensor*> tensors, Enqueue enqueue);

  const NcclLibrary* nccl_ = nullptr;
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, size_ = 1, device_ = 0;
  cudaStream_t compute_ = nullptr, stream_ = nullptr;
  float* scratch_ = nullptr;  // one float on the device, for barrier()
  CommOptions options_;
  mutable std::mutex mu_;
  std::string broken_;
  std::atomic<bool> aborted_{false};
};

}  // namespace ty
