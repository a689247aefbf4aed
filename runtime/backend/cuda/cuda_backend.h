// CudaBackend: the KernelBackend table on one CUDA device and stream, over device tensors
// (f32, plain NCHW / row-major): cuBLAS for gemm, cuDNN for convolution, own kernels for
// the rest (cuda_kernels.h). Nothing waits for the device: work is queued on the stream
// in call order. Not yet registered in Context (the ops do not dispatch to CUDA yet); the
// conformance tests drive it directly.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/cublas_gemm.h"
#include "runtime/backend/cuda/cudnn_conv.h"
#include "runtime/backend/cuda/device_allocator.h"
#include "runtime/backend/kernels.h"

namespace ty {

class CudaBackend final : public KernelBackend {
 public:
  // Loads cuBLAS and cuDNN; errors say which library is missing and where to put it.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> create(int device, cudaStream_t stream,
                                                             CachingDeviceAllocator& memory, bool allow_tf32);

  std::string name() const override { return "cuda"; }
  bool enabled(DType dtype, Device device) const override {
    return dtype == DType::kF32 && device == Device{DeviceKind::kCUDA, device_};
  }
  bool handles(Layout layout) const override { return layout == Layout::kPlain; }
  void convert_layout(const Tensor& src, Tensor& dst) override;
  void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,
            const Tensor* bias = nullptr) override;
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) override;
  void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db) override;
  void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) override;
  void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) override;
  void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) override;
  void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) override;
  void softmax_forward(bool log, const Tensor& x, Tensor& y) override;
  void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  void batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,
                         Tensor& mean, Tensor& var, Tensor& y) override;
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                          const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma,
                          Tensor& dbeta) override;
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean,
                         Tensor& var) override;
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                          const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

  cudaStream_t stream() const { return stream_; }

 private:
  CudaBackend() = default;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<cuda::CublasGemm> gemm_;
  std::unique_ptr<cuda::CudnnConv> conv_;
};

}  // namespace ty
