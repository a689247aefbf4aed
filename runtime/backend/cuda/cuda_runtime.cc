// open_cuda_runtime: the CUDA device's part of a Context (device_runtime.h).
#include <cuda_runtime_api.h>

#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/device_runtime.h"
#include "runtime/status.h"

namespace ty {
namespace {

// Owns what every device tensor of the Context needs until the last one is freed.
struct CudaStreamState {
  explicit CudaStreamState(int index) : memory(index) {}
  ~CudaStreamState() {
    if (stream) {
      cudaStreamSynchronize(stream);
      (void)memory.release_cache();
      cudaStreamDestroy(stream);
    }
  }
  CachingDeviceAllocator memory;
  cudaStream_t stream = nullptr;
};

}  // namespace

absl::StatusOr<DeviceRuntime> open_cuda_runtime(int index, bool allow_tf32, bool benchmark_convolutions,
                                                DType compute) {
  TY_RETURN_IF_ERROR(TY_CUDA_STATUS(cudaSetDevice(index), "opening the CUDA device"));
  auto state = std::make_shared<CudaStreamState>(index);
  TY_RETURN_IF_ERROR(
      TY_CUDA_STATUS(cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking), "the compute stream"));
  DeviceRuntime rt;
  rt.allocator = std::make_shared<StreamAllocator>(state->memory, state->stream, state);
  TY_ASSIGN_OR_RETURN(rt.kernels, CudaBackend::create(index, state->stream, state->memory, allow_tf32,
                                                      benchmark_convolutions, compute));
  cudaStream_t stream = state->stream;
  rt.synchronize = [stream] { TY_CUDA_CHECK(cudaStreamSynchronize(stream), "waiting for the device"); };
  rt.stream = stream;
  return rt;
}

}  // namespace ty
