#include "comm/gpu_communicator.h"
#include "comm/nccl/nccl_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "runtime/status.h"

namespace ty {

absl::StatusOr<std::unique_ptr<Communicator>> open_gpu_communicator(Communicator& host, int device,
                                                                    void* compute_stream, CommOptions options) {
  // The unique id travels through a store over the host communicator (every rank is here).
  rendezvous::CollectiveStore store(host);
  TY_ASSIGN_OR_RETURN(std::unique_ptr<NcclCommunicator> nccl,
                      NcclCommunicator::create(store, "nccl/" + host.group() + "/unique_id", host.rank(), host.size(),
                                               device, static_cast<cudaStream_t>(compute_stream), options));
  return std::unique_ptr<Communicator>(std::move(nccl));
}

}  // namespace ty
