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
  TY_DENSE_KERNELS
};

}  // namespace ty
