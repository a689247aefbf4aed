// HostKernels: the vector part of the KernelBackend table (elementwise, reductions, losses,
// optimizer updates) as loops over host memory, shared by the host backends (reference and
// oneDNN), f32 and f64. These loops are also the CPU references the CUDA kernels are
// checked against.
#pragma once

#include "runtime/backend/kernels.h"

namespace ty {

class HostKernels : public KernelBackend {
 public:
  void add(const Tensor& a, const Tensor& b, Tensor& y) override;
  void mul(const Tensor& a, const Tensor& b, Tensor& y) override;
  void accumulate(Tensor& y, const Tensor& x) override;
  void axpby(float a, const Tensor& x, float b, Tensor& y) override;
  void sum(const Tensor& x, double scale, Tensor& y) override;
  void broadcast_scalar(const Tensor& s, double scale, Tensor& y) override;
  void column_sums(const Tensor& x, Tensor& y) override;
  void add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) override;
  void channel_sums(const Tensor& x, Tensor& sums) override;
  void add_sum_squares(const Tensor& x, Tensor& acc) override;
  void clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) override;
  void dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
               Tensor& y) override;
  void cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) override;
  void cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                              Tensor& dx) override;
  void mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) override;
  void mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) override;
  void bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) override;
  void bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) override;
  void one_hot(const Tensor& labels, Tensor& y) override;
  void sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) override;
  void adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) override;
};

}  // namespace ty
