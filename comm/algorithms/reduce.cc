#include "comm/algorithms/reduce.h"

#include <algorithm>

#include "runtime/status.h"

namespace ty {
namespace {

template <class T>
void reduce_into(T* __restrict dst, const T* __restrict src, int64_t n, ReduceOp op, bool src_first) {
  if (op == ReduceOp::kMax) {
    if (src_first)
      for (int64_t i = 0; i < n; ++i) dst[i] = std::max(src[i], dst[i]);
    else
      for (int64_t i = 0; i < n; ++i) dst[i] = std::max(dst[i], src[i]);
  } else {
    if (src_first)
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] + dst[i];
    else
      for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  }
}

}  // namespace

void reduce_bytes(DType dt, void* dst, const void* src, int64_t n, ReduceOp op, bool src_first) {
  if (dt == DType::kF64) {
    reduce_into(static_cast<double*>(dst), static_cast<const double*>(src), n, op, src_first);
  } else {
    CHECK(dt == DType::kF32) << "reduction of " << dtype_name(dt);
    reduce_into(static_cast<float*>(dst), static_cast<const float*>(src), n, op, src_first);
  }
}

}  // namespace ty
