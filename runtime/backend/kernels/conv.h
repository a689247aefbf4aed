// Convolution and pooling kernels (a kernel family, optional for a backend). Activations
// (x, y and their gradients) may be in any layout the backend takes for this family
// (KernelBackend::handles); a gradient is always in its value's layout. Weights are plain.
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace ty {

// Convolution geometry. x: (N, C, H, W), w: (K, C, R, S), y: (N, K, P, Q).
struct ConvGeom {
  int64_t n, c, h, w, k, r, s, p, q;
  int64_t stride_h, stride_w, pad_h, pad_w;
};

// Pooling geometry. x: (N, C, H, W) -> y: (N, C, P, Q).
struct PoolGeom {
  int64_t n, c, h, w, p, q;
  int64_t kh, kw, stride_h, stride_w, pad_h, pad_w;
  bool max;  // else average, padding excluded from the count
};

class ConvKernels {
 public:
  virtual ~ConvKernels() = default;
  // x (N, C, H, W), w (K, C, R, S), bias (K, optional) -> y (N, K, P, Q)
  virtual void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) = 0;
  virtual void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) = 0;
  // dw (K, C, R, S) and db (K) (optional, may be null) are overwritten.
  virtual void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                                       Tensor* db) = 0;

  // `workspace` is whatever the backend needs to route max-pool gradients; it is allocated
  // by the backend in forward and handed back in backward.
  virtual void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) = 0;
  virtual void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) = 0;
};

#define TY_CONV_KERNELS                                                                                                \
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;    \
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) override;                \
  void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db) override; \
  void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) override;                      \
  void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) override;

}  // namespace ty
