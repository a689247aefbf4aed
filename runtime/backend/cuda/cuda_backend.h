// CudaBackend: every kernel family on one CUDA device and stream, over device tensors
// (f32, plain NCHW / row-major): cuBLAS for gemm, cuDNN for convolution, own kernels for
// the rest (cuda_kernels.h). Nothing waits for the device: work is queued on the stream
// in call order. A Context on a CUDA device (cuda_runtime.cc) runs every op on it. Under
// mixed precision (runtime.precision: bf16 | fp16) gemm and convolution take their inputs
// rounded to 16 bits and produce f32, as autocast does: weights, activations, gradients and
// optimizer state stay f32.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/cublas_gemm.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#include "runtime/backend/cuda/device_allocator.h"
#include "runtime/backend/kernels.h"

namespace ty {

class CudaBackend final
    : public KernelBackendOf<DenseKernels, ConvKernels, NormKernels, ActivationKernels, PointwiseKernels, LossKernels,
                             OptimizerKernels, EmbeddingKernels, RecurrentKernels, AttentionKernels> {
 public:
  // Loads cuBLAS and cuDNN; errors say which library is missing and where to put it.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> create(int device, cudaStream_t stream,
                                                             CachingDeviceAllocator& memory, bool allow_tf32,
                                                             bool benchmark_convolutions = false,
                                                             DType compute = DType::kF32);

  std::string name() const override { return "cuda"; }
  bool enabled(DType dtype, Device device) const override {
    return dtype == DType::kF32 && device == Device{DeviceKind::kCUDA, device_};
  }
  TY_DENSE_KERNELS
  TY_CONV_KERNELS
  TY_NORM_KERNELS
  TY_ACTIVATION_KERNELS
  TY_POINTWISE_KERNELS
  TY_LOSS_KERNELS
  TY_OPTIMIZER_KERNELS
  TY_EMBEDDING_KERNELS
  TY_RECURRENT_KERNELS
  TY_ATTENTION_KERNELS

  cudaStream_t stream() const { return stream_; }

 private:
  CudaBackend() = default;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<cuda::CublasGemm> gemm_;
  std::unique_ptr<cuda::CudnnConv> conv_;
  Tensor ones_;  // column_sums multiplies by a vector of ones (cuBLAS), grown as needed
  // Mixed precision: gemm and convolution round their f32 inputs to this type (kBF16 or
  // kF16) and accumulate in f32; kF32: off.
  DType compute_ = DType::kF32;
  // `t` rounded to compute_, in a temporary from t's allocator.
  Tensor to_compute(const Tensor& t);
  // Mixed precision is on and cuDNN runs `g` in 16 bits (else that convolution stays f32).
  bool conv_in_half(const ConvGeom& g);
  cuda::CudnnConv::Type conv_type() const {
    return compute_ == DType::kBF16 ? cuda::CudnnConv::Type::kBF16 : cuda::CudnnConv::Type::kF16;
  }
};

}  // namespace ty
