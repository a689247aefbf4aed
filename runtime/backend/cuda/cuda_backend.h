// CudaBackend: the KernelBackend table on one CUDA device and stream, over device tensors
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

class CudaBackend final : public KernelBackend {
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
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var,
                          float eps, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean,
                         Tensor& var) override;
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var,
                          float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

  void add(const Tensor& a, const Tensor& b, Tensor& y) override;
  void mul(const Tensor& a, const Tensor& b, Tensor& y) override;
  void accumulate(Tensor& y, const Tensor& x) override;
  void axpby(float a, const Tensor& x, float b, Tensor& y) override;
  void sum(const Tensor& x, double scale, Tensor& y) override;
  void broadcast_scalar(const Tensor& s, double scale, Tensor& y) override;
  void column_sums(const Tensor& x, Tensor& y) override;
  void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) override;
  void channel_sums(const Tensor& x, Tensor& sums) override;
  void add_sum_squares(const Tensor& x, Tensor& acc) override;
  void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) override;
  void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
               Tensor& y) override;
  void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) override;
  void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                              Tensor& dx) override;
  void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) override;
  void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) override;
  void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) override;
  void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) override;
  void one_hot(const Tensor& labels, Tensor& y) override;
  void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) override;
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) override;

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
