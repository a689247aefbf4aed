#include "comm/gpu_communicator.h"
#include "comm/nccl/nccl_communicator.h"
#include "runtime/status.h"

namespace ty {

absl::StatusOr<std::unique_ptr<Communicator>> open_gpu_communicator(Communicator& host, int device,
                                                                    void* compute_stream, CommOptions options) {
  TY_ASSIGN_OR_RETURN(std::unique_ptr<NcclCommunicator> nccl,
                      NcclCommunicator::create(host, device, static_cast<cudaStream_t>(compute_stream), options));
  return std::unique_ptr<Communicator>(std::move(nccl));
}

}  // namespace ty
