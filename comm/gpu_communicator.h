// The communicator for a rank's GPU tensors: NCCL (comm/nccl) in a CUDA build, bootstrapped
// over the job's host communicator; a build without CUDA says it has none. CMake picks the
// implementation; callers need no CUDA headers.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "comm/communicator.h"

namespace ty {

// `compute_stream` (a cudaStream_t): the stream whose work each operation is ordered after.
absl::StatusOr<std::unique_ptr<Communicator>> open_gpu_communicator(Communicator& host, int device,
                                                                    void* compute_stream, CommOptions options);

}  // namespace ty
