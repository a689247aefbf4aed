// gpu_communicator.h for a build without the CUDA backend.
#include "comm/gpu_communicator.h"

namespace ty {

absl::StatusOr<std::unique_ptr<Communicator>> open_gpu_communicator(Communicator&, int, void*, CommOptions) {
  return absl::FailedPreconditionError("no NCCL: this trainyard was built without the CUDA backend");
}

}  // namespace ty
