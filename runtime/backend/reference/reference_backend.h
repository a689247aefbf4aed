// The reference backend: plain loops for every kernel, in f32 and f64. It always works, it
// is what finite-difference gradient checks run on (f64), and it is the CPU reference that
// faster backends (oneDNN, CUDA) are checked against.
#pragma once

#include "runtime/backend/host_kernels.h"

namespace ty {

class ReferenceBackend final : public HostKernels {
 public:
  std::string name() const override { return "reference"; }
  bool enabled(DType dtype, Device device) const override {
    return device.kind == DeviceKind::kCPU && (dtype == DType::kF32 || dtype == DType::kF64);
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
};

}  // namespace ty
