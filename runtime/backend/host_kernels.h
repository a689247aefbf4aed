// HostKernels: the vector part of the KernelBackend table (elementwise, reductions, losses,
// optimizer updates) as loops over host memory, shared by the host backends (reference and
// oneDNN), f32 and f64. These loops are also the CPU references the CUDA kernels are
// checked against.
#pragma once

#include "runtime/backend/kernels.h"

namespace ty {

class HostKernels : public KernelBackend {
 public:
  TY_VECTOR_KERNELS
};

}  // namespace ty
