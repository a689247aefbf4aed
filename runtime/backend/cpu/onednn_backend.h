// The CPU backend on oneDNN (f32): matmul, convolution, pooling, eltwise, softmax and norms.
// Primitives are created once per shape and reused; intra-op threads come from OpenMP,
// set by the Context from `runtime.threads`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "dnnl.hpp"
#include "runtime/backend/host_kernels.h"

namespace ty {

class OnednnBackend final : public HostKernels {
 public:
  OnednnBackend();
  std::string name() const override { return "onednn"; }
  bool enabled(DType dtype, Device device) const override {
    return device.kind == DeviceKind::kCPU && dtype == DType::kF32;
  }
  bool handles(Layout) const override { return true; }
  void convert_layout(const Tensor& src, Tensor& dst) override;
  void gemm(bool trans_a, bool trans_b, const Tensor& a, const Tensor& b, Tensor& c, float beta,
            const Tensor* bias = nullptr) override;
  void conv2d_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) override;
  void conv2d_backward_data(const ConvGeom& g, const Tensor& dy, const Tensor& w, Tensor& dx) override;
  void conv2d_backward_weights(const ConvGeom& g, const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db) override;
  void pool2d_forward(const PoolGeom& g, const Tensor& x, Tensor& y, Tensor* workspace) override;
  void pool2d_backward(const PoolGeom& g, const Tensor& dy, const Tensor& workspace, Tensor& dx) override;
  void eltwise_forward(Eltwise kind, float alpha, const Tensor& x, Tensor& y) override;
  void eltwise_backward(Eltwise kind, float alpha, const Tensor& x, const Tensor& dy, Tensor& dx) override;
  void softmax_forward(bool log, const Tensor& x, Tensor& y) override;
  void softmax_backward(bool log, const Tensor& y, const Tensor& dy, Tensor& dx) override;
  void batchnorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, bool training,
                         Tensor& mean, Tensor& var, Tensor& y) override;
  void batchnorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var,
                          float eps, bool training, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;
  void layernorm_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps, Tensor& y, Tensor& mean,
                         Tensor& var) override;
  void layernorm_backward(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& mean, const Tensor& var,
                          float eps, Tensor& dx, Tensor& dgamma, Tensor& dbeta) override;

  // The memory descriptor of a 4-D activation tensor in its layout.
  static dnnl::memory::desc activation_desc(const Shape& shape, Layout layout);

 private:
  // A reordered copy of a tensor in the layout a primitive asked for (or the tensor itself).
  struct Staged;
  // Returns the cached object for `key`, building it with `make` the first time.
  template <class T>
  T& cached(const std::string& key, const std::function<T()>& make) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, std::make_shared<T>(make())).first;
    return *static_cast<T*>(it->second.get());
  }
  dnnl::memory mem(const dnnl::memory::desc& d, const Tensor& t) const;
  // Wraps `t` (described by `plain`) as memory of layout `want`, reordering into `scratch`
  // if the layouts differ.
  dnnl::memory to_layout(const dnnl::memory::desc& plain, const dnnl::memory::desc& want, const Tensor& t,
                         Tensor& scratch);
  // Runs `body(dst)`, where dst has layout `want`, then copies it into `t` (described by
  // `plain`) unless the two are the same.
  void from_layout(const dnnl::memory::desc& plain, const dnnl::memory::desc& want, Tensor& t,
                   const std::function<void(const dnnl::memory&)>& body);

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::unordered_map<std::string, std::shared_ptr<void>> cache_;
};

}  // namespace ty
