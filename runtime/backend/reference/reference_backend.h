// The reference backend: plain loops for every kernel family, in f32 and f64. It always
// works: it ends the host's backend list (the fallback for any family a faster backend
// lacks), finite-difference gradient checks run on it (f64), and faster backends (oneDNN,
// CUDA) are checked against it.
#pragma once

#include "runtime/backend/host_kernels.h"
#include "runtime/backend/kernels.h"

namespace ty {

class ReferenceBackend final
    : public KernelBackendOf<HostKernels, DenseKernels, ConvKernels, NormKernels, ActivationKernels> {
 public:
  std::string name() const override { return "reference"; }
  bool enabled(DType dtype, Device device) const override {
    return device.kind == DeviceKind::kCPU && (dtype == DType::kF32 || dtype == DType::kF64);
  }
  // Convolution, pooling and norms plain; the host loops' channel bias and sums any layout.
  bool handles(KernelFamily family, Layout layout) const override {
    return layout == Layout::kPlain || family == KernelFamily::kPointwise;
  }
  TY_DENSE_KERNELS
  TY_CONV_KERNELS
  TY_NORM_KERNELS
  TY_ACTIVATION_KERNELS
};

}  // namespace ty
