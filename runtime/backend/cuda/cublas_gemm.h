// CublasGemm: f32 matrix products on a stream through cuBLAS, loaded at run time (dlopen
// libcublas.so.13, then libcublas.so) so that a binary built with the CUDA backend still
// starts on machines without the CUDA libraries. Row-major operands, as the CPU backends
// take them: c (M, N) = op(a) op(b) + beta * c (+ bias (N) on every row); a is stored
// (K, M) when trans_a, b is stored (N, K) when trans_b. With allow_tf32 (runtime.allow_tf32)
// cuBLAS may use TF32 tensor cores.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "runtime/backend/cuda/cuda_kernels.h"

namespace ty::cuda {

class CublasGemm {
 public:
  struct Api;  // the resolved entry points (cublas_gemm.cc)
  // Errors: cuBLAS not found (naming the library and LD_LIBRARY_PATH), or a handle that
  // cannot be created (naming the cuBLAS status).
  static absl::StatusOr<std::unique_ptr<CublasGemm>> create(cudaStream_t stream, bool allow_tf32);
  ~CublasGemm();

  absl::Status gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
                    float* c, float beta, const float* bias = nullptr);
  // The same with a and b in 16-bit floats (bf16 when `bf16`, else f16), accumulated and
  // written in f32 (mixed precision).
  absl::Status gemm_half(bool bf16, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void* a,
                         const void* b, float* c, float beta, const float* bias = nullptr);
  // `batch` products of consecutive (strided) matrices, f32 or 16-bit inputs (half: 0 f32,
  // 1 f16, 2 bf16) with f32 results.
  absl::Status gemm_batched(int half, bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n, int64_t k,
                            const void* a, const void* b, float* c, float beta);

 private:
  CublasGemm() = default;
  const Api* api_ = nullptr;
  void* handle_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

}  // namespace ty::cuda
