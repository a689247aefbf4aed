// The CPU backend on oneDNN (f32): the dense, convolution, normalization and activation
// families (matmul, convolution, pooling, batch and layer norm, eltwise, softmax); the other
// families fall back to the reference backend.
// Primitives are created once per shape and reused; intra-op threads come from OpenMP,
// set by the Context from `runtime.threads`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "dnnl.hpp"
#include "runtime/backend/kernels.h"

namespace ty {

class OnednnBackend final : public KernelBackendOf<DenseKernels, ConvKernels, NormKernels, ActivationKernels> {
 public:
  OnednnBackend();
  std::string name() const override { return "onednn"; }
  bool enabled(DType dtype, Device device) const override {
    return device.kind == DeviceKind::kCPU && dtype == DType::kF32;
  }
  bool handles(KernelFamily, Layout) const override { return true; }
  TY_DENSE_KERNELS
  TY_CONV_KERNELS
  TY_NORM_KERNELS
  TY_ACTIVATION_KERNELS

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
  // dst (cols, rows) = the transpose of src (rows, cols), plain f32 (a reorder).
  void transpose(const Tensor& src, int64_t rows, int64_t cols, Tensor& dst);
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
