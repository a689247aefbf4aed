// Checked CUDA runtime calls: an error names the call, the op it served and CUDA's own
// message. TY_CUDA_STATUS(call, op) gives an absl::Status (for callers that can report);
// TY_CUDA_CHECK(call, op) fails the process with the same text (inside kernels' launch
// paths, where a failure is a lost device rather than bad input).
#pragma once

#include <cuda_runtime_api.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace ty {

inline absl::Status cuda_status(cudaError_t e, const char* call, const char* op) {
  if (e == cudaSuccess) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat(call, " failed in ", op, ": ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ")"));
}

}  // namespace ty

#define TY_CUDA_STATUS(call, op) ::ty::cuda_status((call), #call, (op))
#define TY_CUDA_CHECK(call, op)                            \
  do {                                                     \
    ::absl::Status ty_cuda_st_ = TY_CUDA_STATUS(call, op); \
    CHECK(ty_cuda_st_.ok()) << ty_cuda_st_.message();      \
  } while (0)
