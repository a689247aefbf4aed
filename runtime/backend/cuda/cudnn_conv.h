// CudnnConv: 2-D convolution forward, backward-data and backward-weights through cuDNN,
// loaded at run time (dlopen libcudnn.so.9), on one stream. Per geometry it keeps the
// descriptors and, per direction, the fastest algorithm whose workspace fits: timed by
// cuDNN on the first use of the shape (`benchmark`), or else the one its heuristics rank
// first. Workspaces come from the caching device allocator. Shapes as ConvKernels' ConvGeom: x (N, C, H, W), w (K,
// C, R, S), y (N, K, P, Q), NCHW f32. With allow_tf32 cuDNN may use TF32 tensor cores.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <tuple>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/device_allocator.h"
#include "runtime/backend/kernels/conv.h"

namespace ty::cuda {

class CudnnConv {
 public:
  struct Api;  // the resolved entry points (cudnn_conv.cc)

  // Errors: cuDNN not found (naming where to put it), or a handle that cannot be created.
  static absl::StatusOr<std::unique_ptr<CudnnConv>> create(cudaStream_t stream, CachingDeviceAllocator& memory,
                                                           bool allow_tf32, bool benchmark);
  ~CudnnConv();

  // The element type of x, w, y and their gradients: f32, or 16-bit floats accumulated in
  // f32 (mixed precision).
  enum class Type { kF32, kBF16, kF16 };

  // Whether cuDNN can run geometry `g` in type `t` in every direction (always for f32).
  bool supports(const ConvGeom& g, Type t);

  // A failing cuDNN call fails the process naming the call and the op (a lost device or
  // a bug, not bad input: shapes were checked by the ops). Bias is added by the caller.
  void forward(const ConvGeom& g, Type t, const void* x, const void* w, void* y);
  void backward_data(const ConvGeom& g, Type t, const void* dy, const void* w, void* dx);
  void backward_weights(const ConvGeom& g, Type t, const void* x, const void* dy, void* dw);

 private:
  struct Plan;
  CudnnConv() = default;
  Plan& plan(const ConvGeom& g, Type t);
  void* workspace(size_t bytes);

  const Api* api_ = nullptr;
  void* handle_ = nullptr;
  cudaStream_t stream_ = nullptr;
  CachingDeviceAllocator* memory_ = nullptr;
  bool allow_tf32_ = false;
  bool benchmark_ = false;
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                         int64_t, int64_t, int64_t, Type>;
  std::map<Key, std::unique_ptr<Plan>> plans_;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

}  // namespace ty::cuda
