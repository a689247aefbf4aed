#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/backend/cuda/cuda_kernels.h"

namespace ty::cuda {

void check_launch(const char* kernel) { TY_CUDA_CHECK(cudaGetLastError(), kernel); }

}  // namespace ty::cuda
