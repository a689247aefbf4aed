// Embedding kernels (a kernel family, optional for a backend): rows of a table picked by
// token ids. table: (V, D) plain; ids: i32 (n) on the same device (the op checks that), in
// [0, V): the model's vocabulary must hold the data's (its import writes the vocabulary).
// The host loops CHECK each id; on a GPU an id outside is undefined. out, dout: (n, D).
#pragma once

#include "runtime/tensor.h"

namespace ty {

class EmbeddingKernels {
 public:
  virtual ~EmbeddingKernels() = default;
  // out[i] = table[ids[i]]
  virtual void gather_rows(const Tensor& table, const Tensor& ids, Tensor& out) = 0;
  // dtable[ids[i]] += dout[i], for every i in order (dtable is the caller's, not zeroed).
  virtual void scatter_add_rows(const Tensor& dout, const Tensor& ids, Tensor& dtable) = 0;
};

#define TY_EMBEDDING_KERNELS                                                      \
  void gather_rows(const Tensor& table, const Tensor& ids, Tensor& out) override; \
  void scatter_add_rows(const Tensor& dout, const Tensor& ids, Tensor& dtable) override;

}  // namespace ty
