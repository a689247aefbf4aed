// What accelerators this build and this host have. The answer comes from the CUDA runtime
// when the CUDA backend is built (runtime/backend/cuda/cuda_device.cc), or says the build
// has none (backend/no_cuda_device.cc); CMake picks one of the two files.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace ty {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t memory_bytes = 0;
};

// Device `index` of this host, or an error that says why there is none (built without
// CUDA, no driver, no device, index out of range), naming the CUDA call that said so.
absl::StatusOr<CudaDeviceInfo> cuda_device(int index = 0);

}  // namespace ty
