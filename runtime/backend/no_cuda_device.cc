// device_probe.h, device_runtime.h and device_io.h's open_cuda_device_io for a build without the CUDA backend (no nvcc, or -DTRAINYARD_CUDA=OFF).
#include "runtime/device_io.h"
#include "runtime/device_probe.h"
#include "runtime/device_runtime.h"

namespace ty {

absl::StatusOr<CudaDeviceInfo> cuda_device(int) {
  return absl::FailedPreconditionError(
      "no CUDA device: this trainyard was built without the CUDA backend (nvcc was not found, or "
      "-DTRAINYARD_CUDA=OFF); rebuild on a machine with the CUDA toolkit");
}

absl::StatusOr<DeviceRuntime> open_cuda_runtime(int index, bool, bool, DType) { return cuda_device(index).status(); }

absl::StatusOr<std::shared_ptr<DeviceIo>> open_cuda_device_io(int index, void*) { return cuda_device(index).status(); }

}  // namespace ty
