// device_probe.h from the CUDA runtime.
#include <cuda_runtime_api.h>

#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/device_probe.h"

namespace ty {

absl::StatusOr<CudaDeviceInfo> cuda_device(int index) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "no CUDA device found (cudaGetDeviceCount: ",
        e == cudaSuccess ? "0 devices" : absl::StrCat(cudaGetErrorName(e), ", ", cudaGetErrorString(e)), ")"));
  if (index < 0 || index >= count)
    return absl::FailedPreconditionError(absl::StrCat("CUDA device ", index, " does not exist (", count, " found)"));
  cudaDeviceProp p{};
  if (absl::Status st = TY_CUDA_STATUS(cudaGetDeviceProperties(&p, index), "device probe"); !st.ok()) return st;
  return CudaDeviceInfo{index, p.name, p.major, p.minor, p.totalGlobalMem};
}

}  // namespace ty
