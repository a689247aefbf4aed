#include "runtime/backend/cuda/cuda_backend.h"

#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/status.h"

namespace ty {
namespace {

const float* in(const Tensor& t) { return static_cast<const float*>(t.raw()); }
float* out(Tensor& t) { return static_cast<float*>(t.raw()); }

// x viewed as (N, C, S), as batch norm takes it.
struct NCS {
  int64_t n, c, s;
  explicit NCS(const Tensor& x)
      : n(x.dim(0)), c(x.ndim() > 1 ? x.dim(1) : 1), s(x.numel() / std::max<int64_t>(n * c, 1)) {}
};

}  // namespace

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::create(int device, cudaStream_t stream,
                                                                 CachingDeviceAllocator& memory, bool allow_tf32,
                                                                 bool benchmark_convolutions, DType compute) {
  if (compute != DType::kF32 && compute != DType::kBF16 && compute != DType::kF16)
    return absl::InvalidArgumentError(absl::StrCat("mixed precision in ", dtype_name(compute), ": use bf16 or f16"));
  std::unique_ptr<CudaBackend> b(new CudaBackend());
  b->compute_ = compute;
  b->device_ = device;
  b->stream_ = stream;
  TY_ASSIGN_OR_RETURN(b->gemm_, cuda::CublasGemm::create(stream, allow_tf32));
  TY_ASSIGN_OR_RETURN(b->conv_, cuda::CudnnConv::create(stream, memory, allow_tf32, benchmark_convolutions));
  return b;
}

void CudaBackend::convert_layout(const Tensor& src, Tensor& dst) {
  CHECK(src.layout() == Layout::kPlain && dst.layout() == Layout::kPlain) << "the CUDA backend keeps plain layouts";
  TY_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToDevice, stream_),
                "convert_layout");
}

Tensor CudaBackend::to_compute(const Tensor& t) {
  Tensor h = Tensor::empty(t.allocator(), t.shape(), compute_, t.device());
  cuda::to_half(stream_, in(t), h.raw(), t.numel(), compute_ == DType::kBF16);
  return h;
}

void CudaBackend::gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,
                       const Tensor* bias) {
  const int64_t m = c.dim(0), n = c.dim(1), k = trans_a ? a.dim(0) : a.dim(1);
  const float* bias_p = bias ? in(*bias) : nullptr;
  absl::Status st;
  if (compute_ == DType::kF32) {
    st = gemm_->gemm(trans_a, trans_b, m, n, k, in(a), in(b), out(c), beta, bias_p);
  } else {
    const Tensor a16 = to_compute(a), b16 = to_compute(b);
    st = gemm_->gemm_half(compute_ == DType::kBF16, trans_a, trans_b, m, n, k, a16.raw(), b16.raw(), out(c), beta,
                          bias_p);
  }
  CHECK(st.ok()) << st.message();
}

void CudaBackend::gemm_batched(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta) {
  const int64_t batch = c.dim(0), m = c.dim(1), n = c.dim(2), k = trans_a ? a.dim(1) : a.dim(2);
  absl::Status st;
  if (compute_ == DType::kF32) {
    st = gemm_->gemm_batched(0, trans_a, trans_b, batch, m, n, k, a.raw(), b.raw(), out(c), beta);
  } else {
    const Tensor a16 = to_compute(a), b16 = to_compute(b);
    st = gemm_->gemm_batched(compute_ == DType::kBF16 ? 2 : 1, trans_a, trans_b, batch, m, n, k, a16.raw(), b16.raw(),
                             out(c), beta);
  }
  CHECK(st.ok()) << st.message();
}

// Channel counts that are not multiples of 8 (an image's 1 or 3 input channels) have no
// 16-bit tensor-core kernels in NCHW: those convolutions stay f32.
bool CudaBackend::conv_in_half(const ConvGeom& g) {
  return compute_ != DType::kF32 && g.c % 8 == 0 && g.k % 8 == 0 && conv_->supports(g, conv_type());
}

void CudaBackend::conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  if (!conv_in_half(g)) {
    conv_->forward(g, cuda::CudnnConv::Type::kF32, in(x), in(w), out(y));
  } else {
    Tensor y16 = Tensor::empty(y.allocator(), y.shape(), compute_, y.device());
    conv_->forward(g, conv_type(), to_compute(x).raw(), to_compute(w).raw(), y16.raw());
    cuda::from_half(stream_, y16.raw(), out(y), y.numel(), compute_ == DType::kBF16);
  }
  if (bias) cuda::add_channel_bias(stream_, in(y), in(*bias), out(y), g.n, g.k, g.p * g.q);
}

void CudaBackend::conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) {
  if (!conv_in_half(g)) {
    conv_->backward_data(g, cuda::CudnnConv::Type::kF32, in(dy), in(w), out(dx));
    return;
  }
  Tensor dx16 = Tensor::empty(dx.allocator(), dx.shape(), compute_, dx.device());
  conv_->backward_data(g, conv_type(), to_compute(dy).raw(), to_compute(w).raw(), dx16.raw());
  cuda::from_half(stream_, dx16.raw(), out(dx), dx.numel(), compute_ == DType::kBF16);
}

void CudaBackend::conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw,
                                          Tensor* db) {
  if (!conv_in_half(g)) {
    conv_->backward_weights(g, cuda::CudnnConv::Type::kF32, in(x), in(dy), out(dw));
  } else {
    Tensor dw16 = Tensor::empty(dw.allocator(), dw.shape(), compute_, dw.device());
    conv_->backward_weights(g, conv_type(), to_compute(x).raw(), to_compute(dy).raw(), dw16.raw());
    cuda::from_half(stream_, dw16.raw(), out(dw), dw.numel(), compute_ == DType::kBF16);
  }
  if (db) channel_sums(dy, *db);
}

// Bias and its gradient above are own kernels: cuDNN's (cudnnAddTensor,
// cudnnConvolutionBackwardBias) measured 2-5x slower on an H200 for NCHW activations.

void CudaBackend::pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) {
  const cuda::PoolShape s{g.n, g.c, g.h, g.w, g.p, g.q, g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.max};
  int32_t* argmax = nullptr;
  if (g.max) {
    *workspace = Tensor::empty(x.allocator(), y.shape(), DType::kI32, x.device());
    argmax = workspace->data<int32_t>();
  }
  cuda::pool_forward(stream_, s, in(x), out(y), argmax);
}

void CudaBackend::pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) {
  const cuda::PoolShape s{g.n, g.c, g.h, g.w, g.p, g.q, g.kh, g.kw, g.stride_h, g.stride_w, g.pad_h, g.pad_w, g.max};
  cuda::pool_backward(stream_, s, in(dy), g.max ? workspace.data<int32_t>() : nullptr, out(dx));
}

void CudaBackend::eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) {
  cuda::eltwise_forward(stream_, kind, alpha, in(x), out(y), x.numel());
}

void CudaBackend::eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) {
  cuda::eltwise_backward(stream_, kind, alpha, in(x), in(dy), out(dx), x.numel());
}

void CudaBackend::softmax_forward(bool log, const Tensor& x, Tensor& y) {
  const int64_t cols = x.dim(-1);
  cuda::softmax_forward(stream_, log, in(x), out(y), x.numel() / std::max<int64_t>(cols, 1), cols);
}

void CudaBackend::softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) {
  const int64_t cols = y.dim(-1);
  cuda::softmax_backward(stream_, log, in(y), in(dy), out(dx), y.numel() / std::max<int64_t>(cols, 1), cols);
}

void CudaBackend::batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,
                                    Tensor& mean, Tensor& var, Tensor& y) {
  const NCS d(x);
  cuda::batchnorm_forward(stream_, in(x), in(gamma), in(beta), eps, training, out(mean), out(var), out(y), d.n, d.c,
                          d.s);
}

void CudaBackend::batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                     const Tensor& var, float eps, bool training, Tensor& dx, Tensor& dgamma,
                                     Tensor& dbeta) {
  const NCS d(x);
  cuda::batchnorm_backward(stream_, in(x), in(dy), in(gamma), in(mean), in(var), eps, training, out(dx), out(dgamma),
                           out(dbeta), d.n, d.c, d.s);
}

void CudaBackend::layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y,
                                    Tensor& mean, Tensor& var) {
  const int64_t cols = x.dim(-1);
  cuda::layernorm_forward(stream_, in(x), in(gamma), in(beta), eps, out(y), out(mean), out(var),
                          x.numel() / std::max<int64_t>(cols, 1), cols);
}

void CudaBackend::layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean,
                                     const Tensor& var, float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) {
  const int64_t cols = x.dim(-1);
  cuda::layernorm_backward(stream_, in(x), in(dy), in(gamma), in(mean), in(var), eps, out(dx), out(dgamma), out(dbeta),
                           x.numel() / std::max<int64_t>(cols, 1), cols);
}

namespace {
const int32_t* labels_of(const Tensor& t) {
  CHECK(t.dtype() == DType::kI32) << "labels must be i32, not " << dtype_name(t.dtype());
  return t.data<int32_t>();
}
}  // namespace

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& y) {
  cuda::binary(stream_, cuda::BinaryOp::kAdd, in(a), in(b), out(y), y.numel());
}

void CudaBackend::mul(const Tensor& a, const Tensor& b, Tensor& y) {
  cuda::binary(stream_, cuda::BinaryOp::kMul, in(a), in(b), out(y), y.numel());
}

void CudaBackend::accumulate(Tensor& y, const Tensor& x) {
  cuda::binary(stream_, cuda::BinaryOp::kAdd, in(y), in(x), out(y), y.numel());
}

void CudaBackend::axpby(float a, const Tensor& x, float b, Tensor& y) {
  cuda::binary(stream_, cuda::BinaryOp::kAxpby, in(x), nullptr, out(y), y.numel(), a, b);
}

void CudaBackend::sum(const Tensor& x, double scale, Tensor& y) { cuda::sum(stream_, in(x), x.numel(), scale, out(y)); }

void CudaBackend::broadcast_scalar(const Tensor& s, double scale, Tensor& y) {
  cuda::broadcast_scalar(stream_, in(s), scale, out(y), y.numel());
}

void CudaBackend::column_sums(const Tensor& x, Tensor& y) {
  const int64_t cols = y.numel(), rows = x.numel() / std::max<int64_t>(cols, 1);
  if (!ones_.defined() || ones_.numel() < rows) {
    ones_ = Tensor::empty(x.allocator(), {std::max<int64_t>(rows, 1)}, DType::kF32, x.device());
    ones_.fill(1.0);
  }
  // y (cols, 1) = x^T (cols, rows) * ones (rows, 1), in f32 also under mixed precision (a
  // bias gradient from 16-bit-rounded inputs would lose bits for nothing).
  absl::Status st = gemm_->gemm(true, false, cols, 1, rows, in(x), in(ones_), out(y), 0.f);
  CHECK(st.ok()) << st.message();
}

void CudaBackend::add_channel_bias(const Tensor& x, const Tensor& bias, Tensor& y) {
  const NCS d(x);
  cuda::add_channel_bias(stream_, in(x), in(bias), out(y), d.n, d.c, d.s);
}

void CudaBackend::channel_sums(const Tensor& x, Tensor& sums) {
  const NCS d(x);
  Tensor planes = Tensor::empty(x.allocator(), {d.n * d.c}, DType::kF32, x.device());
  cuda::channel_sums(stream_, in(x), out(planes), out(sums), d.n, d.c, d.s);
}

void CudaBackend::add_sum_squares(const Tensor& x, Tensor& acc) {
  CHECK(acc.dtype() == DType::kF64) << "add_sum_squares accumulates in f64";
  cuda::add_sum_squares(stream_, in(x), x.numel(), acc.data<double>());
}

void CudaBackend::clip_by_norm(Tensor& x, const Tensor& sq, double max_norm) {
  cuda::clip_by_norm(stream_, out(x), x.numel(), sq.data<double>(), max_norm);
}

void CudaBackend::gather_rows(const Tensor& table, const Tensor& ids, Tensor& out_rows) {
  const int64_t vocab = table.shape()[0];
  cuda::gather_rows(stream_, in(table), ids.data<int32_t>(), out(out_rows), ids.numel(),
                    vocab == 0 ? 0 : table.numel() / vocab);
}

void CudaBackend::scatter_add_rows(const Tensor& dout, const Tensor& ids, Tensor& dtable) {
  const int64_t vocab = dtable.shape()[0];
  cuda::scatter_add_rows(stream_, in(dout), ids.data<int32_t>(), out(dtable), ids.numel(),
                         vocab == 0 ? 0 : dtable.numel() / vocab);
}

void CudaBackend::swap_axes01(const Tensor& src, Tensor& dst) {
  const int64_t a = src.dim(0), b = src.dim(1);
  cuda::swap_axes01(stream_, in(src), out(dst), a, b, a * b == 0 ? 0 : src.numel() / (a * b));
}

void CudaBackend::lstm_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& c_prev, Tensor& act, Tensor& c,
                                    Tensor& h) {
  cuda::lstm_step_forward(stream_, in(xw), in(hw), in(c_prev), out(act), out(c), out(h), c.dim(0), c.dim(1));
}

void CudaBackend::lstm_step_backward(const Tensor& act, const Tensor& c_prev, const Tensor& c, const Tensor& dh,
                                     Tensor& dc, Tensor& dgates) {
  cuda::lstm_step_backward(stream_, in(act), in(c_prev), in(c), in(dh), out(dc), out(dgates), c.dim(0), c.dim(1));
}

void CudaBackend::gru_step_forward(const Tensor& xw, const Tensor& hw, const Tensor& h_prev, Tensor& act, Tensor& h) {
  cuda::gru_step_forward(stream_, in(xw), in(hw), in(h_prev), out(act), out(h), h.dim(0), h.dim(1));
}

void CudaBackend::gru_step_backward(const Tensor& act, const Tensor& h_prev, const Tensor& dh, Tensor& dxw, Tensor& dhw,
                                    Tensor& dh_prev) {
  cuda::gru_step_backward(stream_, in(act), in(h_prev), in(dh), out(dxw), out(dhw), out(dh_prev), dh.dim(0), dh.dim(1));
}

void CudaBackend::heads_from(const Tensor& x, int64_t offset, int64_t heads, Tensor& o) {
  cuda::heads_from(stream_, in(x), out(o), x.dim(0), x.dim(1), x.dim(2), heads, o.dim(2), offset);
}

void CudaBackend::heads_into(const Tensor& i, int64_t offset, int64_t heads, Tensor& x) {
  cuda::heads_into(stream_, in(i), out(x), x.dim(0), x.dim(1), x.dim(2), heads, i.dim(2), offset);
}

void CudaBackend::masked_softmax_forward(const Tensor& s, float scale, bool causal, const Tensor* key_len,
                                         int64_t heads, Tensor& p) {
  cuda::masked_softmax_forward(stream_, in(s), out(p), s.dim(0) * s.dim(1), s.dim(1), s.dim(2), scale, causal,
                               key_len ? key_len->data<int32_t>() : nullptr, heads);
}

void CudaBackend::masked_softmax_backward(const Tensor& p, const Tensor& dp, float scale, Tensor& ds) {
  cuda::masked_softmax_backward(stream_, in(p), in(dp), out(ds), p.dim(0) * p.dim(1), p.dim(2), scale);
}

void CudaBackend::gathered_attention(const Tensor& q, const Tensor& table, int64_t k_offset, int64_t v_offset,
                                     const Tensor& index, const Tensor& len, int64_t heads, float scale, Tensor& y) {
  CHECK_LE(index.dim(1), kGatheredAttentionMaxKeysCuda)
      << "gathered attention: " << index.dim(1) << " keys' scores pass a block's 48 KiB of shared memory";
  cuda::gathered_attention(stream_, in(q), q.dim(1), in(table), table.dim(1), k_offset, v_offset,
                           index.data<int32_t>(), y.dim(0), index.dim(1), len.data<int32_t>(), heads, y.dim(1) / heads,
                           scale, out(y));
}

void CudaBackend::dropout(const Tensor& x, float p, uint64_t seed, uint64_t stream, uint64_t first, Tensor& mask,
                          Tensor& y) {
  cuda::dropout_forward(stream_, in(x), out(y), out(mask), x.numel(), p, seed, stream, first);
}

void CudaBackend::cross_entropy_forward(const Tensor& logp, const Tensor& labels, float smoothing, Tensor& loss) {
  cuda::cross_entropy_forward(stream_, in(logp), labels_of(labels), logp.dim(0),
                              logp.numel() / std::max<int64_t>(logp.dim(0), 1), smoothing, out(loss));
}

void CudaBackend::cross_entropy_backward(const Tensor& logp, const Tensor& labels, float smoothing, const Tensor& dloss,
                                         Tensor& dx) {
  cuda::cross_entropy_backward(stream_, in(logp), labels_of(labels), logp.dim(0),
                               logp.numel() / std::max<int64_t>(logp.dim(0), 1), smoothing, in(dloss), out(dx));
}

void CudaBackend::mse_forward(const Tensor& pred, const Tensor& target, Tensor& loss) {
  cuda::mse_forward(stream_, in(pred), in(target), pred.numel(), out(loss));
}

void CudaBackend::mse_backward(const Tensor& pred, const Tensor& target, const Tensor& dloss, Tensor& dx) {
  cuda::mse_backward(stream_, in(pred), in(target), pred.numel(), in(dloss), out(dx));
}

void CudaBackend::bce_forward(const Tensor& logits, const Tensor& target, Tensor& loss) {
  cuda::bce_forward(stream_, in(logits), in(target), logits.numel(), out(loss));
}

void CudaBackend::bce_backward(const Tensor& logits, const Tensor& target, const Tensor& dloss, Tensor& dx) {
  cuda::bce_backward(stream_, in(logits), in(target), logits.numel(), in(dloss), out(dx));
}

void CudaBackend::one_hot(const Tensor& labels, Tensor& y) {
  cuda::one_hot(stream_, labels_of(labels), labels.numel(), y.numel() / std::max<int64_t>(labels.numel(), 1), out(y));
}

void CudaBackend::sgd_update(Tensor& p, const Tensor& g, Tensor* buf, const SgdStep& s) {
  cuda::sgd_update(stream_, out(p), in(g), buf ? out(*buf) : nullptr, p.numel(), s);
}

void CudaBackend::adam_update(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s) {
  cuda::adam_update(stream_, out(p), in(g), out(m), out(v), p.numel(), s);
}

}  // namespace ty
