// An accelerator's part of a Context: device memory (whose uploads are staged through
// page-locked buffers), the kernel backend, and a way to wait for queued work. The CUDA build opens one per
// device (backend/cuda/cuda_runtime.cc); a build without CUDA says it has none
// (backend/no_cuda_device.cc). CMake picks the file.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "runtime/allocator.h"
#include "runtime/backend/kernels.h"

namespace ty {

struct DeviceRuntime {
  std::shared_ptr<Allocator> allocator;  // device memory; copies and fills on the compute stream
  std::unique_ptr<KernelBackend> kernels;
  std::function<void()> synchronize;  // waits for everything queued so far
  void* stream = nullptr;             // the compute stream (cudaStream_t), for communicators
};

// A compute stream, caching allocators and the CUDA backend on device `index`
// (`benchmark_convolutions`: time cuDNN's algorithms per shape; `compute`: kF32, or kBF16 /
// kF16 for mixed-precision matrix products and convolutions). Errors name the device or the
// library (cuBLAS, cuDNN) that is missing.
absl::StatusOr<DeviceRuntime> open_cuda_runtime(int index, bool allow_tf32, bool benchmark_convolutions, DType compute);

}  // namespace ty
