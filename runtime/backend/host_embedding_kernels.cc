// HostKernels' embedding family: row copies and row sums in host memory.
#include <cstring>

#include "runtime/backend/host_kernels.h"

namespace ty {
namespace {

// The row width of `t` (n, D...) and the checked id of row i.
int64_t width_of(const Tensor& t, int64_t rows) { return rows == 0 ? 0 : t.numel() / rows; }

int32_t checked_id(const int32_t* ids, int64_t i, int64_t vocab) {
  const int32_t id = ids[i];
  CHECK(id >= 0 && id < vocab) << "token id " << id << " at position " << i << " is outside [0, " << vocab << ")";
  return id;
}

}  // namespace

void HostKernels::gather_rows(const Tensor& table, const Tensor& ids, Tensor& out) {
  const int64_t n = ids.numel(), vocab = table.shape()[0], d = width_of(table, vocab);
  const int32_t* I = ids.data<int32_t>();
  TY_DISPATCH_FLOAT(table.dtype(), T, {
    const T* W = table.data<T>();
    T* Y = out.data<T>();
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(Y + i * d, W + static_cast<int64_t>(checked_id(I, i, vocab)) * d, sizeof(T) * d);
  });
}

void HostKernels::scatter_add_rows(const Tensor& dout, const Tensor& ids, Tensor& dtable) {
  const int64_t n = ids.numel(), vocab = dtable.shape()[0], d = width_of(dtable, vocab);
  const int32_t* I = ids.data<int32_t>();
  TY_DISPATCH_FLOAT(dtable.dtype(), T, {
    const T* G = dout.data<T>();
    T* D = dtable.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      T* row = D + static_cast<int64_t>(checked_id(I, i, vocab)) * d;
      for (int64_t j = 0; j < d; ++j) row[j] += G[i * d + j];
    }
  });
}

}  // namespace ty
