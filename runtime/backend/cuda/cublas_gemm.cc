#include "runtime/backend/cuda/cublas_gemm.h"

#include <cublas_v2.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/dynamic_library.h"

namespace ty::cuda {

// The cuBLAS entry points trainyard uses, resolved once from the shared library.
struct CublasGemm::Api {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  // cublasGemmEx is overloaded in C++: name the 32-bit-size one.
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                            const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                            cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  cublasStatus_t (*gemm_strided_batched_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                                            const void*, const void*, cudaDataType, int, long long, const void*,
                                            cudaDataType, int, long long, const void*, void*, cudaDataType, int,
                                            long long, int, cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
  std::string error;
};

namespace {

template <class F>
bool resolve(void* lib, const char* name, F& out, std::string& error) {
  return resolve_symbol(lib, name, out, error, "cuBLAS", "cuBLAS 12 or newer is needed");
}

const CublasGemm::Api* load_api() {
  static CublasGemm::Api api;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void* lib = open_first_library({"libcublas.so.13", "libcublas.so.12", "libcublas.so"}, &tried);
    if (lib == nullptr) {
      api.error = absl::StrCat("cuBLAS not found (", tried,
                               "); put the CUDA libraries on LD_LIBRARY_PATH (/usr/local/cuda/lib64, or "
                               "PyTorch's nvidia/cublas/lib)");
      return;
    }
    resolve(lib, "cublasCreate_v2", api.create, api.error) &&
        resolve(lib, "cublasDestroy_v2", api.destroy, api.error) &&
        resolve(lib, "cublasSetStream_v2", api.set_stream, api.error) &&
        resolve(lib, "cublasSetMathMode", api.set_math_mode, api.error) &&
        resolve(lib, "cublasSgemm_v2", api.sgemm, api.error) && resolve(lib, "cublasGemmEx", api.gemm_ex, api.error) &&
        resolve(lib, "cublasGemmStridedBatchedEx", api.gemm_strided_batched_ex, api.error);
  });
  return &api;
}

absl::Status cublas_status(cublasStatus_t s, const char* call, const char* op) {
  if (s == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(call, " failed in ", op, ": cuBLAS status ", static_cast<int>(s)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CublasGemm>> CublasGemm::create(cudaStream_t stream, bool allow_tf32) {
  const Api* api = load_api();
  if (!api->error.empty()) return absl::FailedPreconditionError(api->error);
  std::unique_ptr<CublasGemm> g(new CublasGemm());
  g->api_ = api;
  g->stream_ = stream;
  cublasHandle_t h = nullptr;
  if (absl::Status st = cublas_status(api->create(&h), "cublasCreate", "gemm setup"); !st.ok()) return st;
  g->handle_ = h;
  if (absl::Status st = cublas_status(api->set_stream(h, stream), "cublasSetStream", "gemm setup"); !st.ok()) return st;
  const cublasMath_t mode = allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
  if (absl::Status st = cublas_status(api->set_math_mode(h, mode), "cublasSetMathMode", "gemm setup"); !st.ok())
    return st;
  return g;
}

CublasGemm::~CublasGemm() {
  if (handle_ != nullptr) api_->destroy(static_cast<cublasHandle_t>(handle_));
}

absl::Status CublasGemm::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                              const float* b, float* c, float beta, const float* bias) {
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS gets B first.
  // A row-major (M, K) matrix is a column-major (K, M) one with leading dimension K.
  const float alpha = 1.f;
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  absl::Status st =
      cublas_status(api_->sgemm(static_cast<cublasHandle_t>(handle_), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                static_cast<int>(k), &alpha, b, ldb, a, lda, &beta, c, static_cast<int>(n)),
                    "cublasSgemm", "gemm");
  if (st.ok() && bias != nullptr) add_bias_rows(stream_, c, bias, m, n);
  return st;
}

absl::Status CublasGemm::gemm_half(bool bf16, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                                   const void* a, const void* b, float* c, float beta, const float* bias) {
  const float alpha = 1.f;
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  const cudaDataType_t in = bf16 ? CUDA_R_16BF : CUDA_R_16F;
  absl::Status st =
      cublas_status(api_->gemm_ex(static_cast<cublasHandle_t>(handle_), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                  static_cast<int>(k), &alpha, b, in, ldb, a, in, lda, &beta, c, CUDA_R_32F,
                                  static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                    "cublasGemmEx", "gemm (mixed precision)");
  if (st.ok() && bias != nullptr) add_bias_rows(stream_, c, bias, m, n);
  return st;
}

absl::Status CublasGemm::gemm_batched(int half, bool trans_a, bool trans_b, int64_t batch, int64_t m, int64_t n,
                                      int64_t k, const void* a, const void* b, float* c, float beta) {
  const float alpha = 1.f;
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  const cudaDataType_t in = half == 0 ? CUDA_R_32F : half == 1 ? CUDA_R_16F : CUDA_R_16BF;
  // f32 inputs: TF32 tensor cores when the handle's math mode allows them.
  const cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  return cublas_status(api_->gemm_strided_batched_ex(
                           static_cast<cublasHandle_t>(handle_), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                           trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                           static_cast<int>(k), &alpha, b, in, ldb, k * n, a, in, lda, m * k, &beta, c, CUDA_R_32F,
                           static_cast<int>(n), m * n, static_cast<int>(batch), compute, CUBLAS_GEMM_DEFAULT),
                       "cublasGemmStridedBatchedEx", "gemm_batched");
}

}  // namespace ty::cuda
