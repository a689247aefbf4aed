// Kernel backends and how ops reach them. A backend (reference, oneDNN, CUDA) implements any
// of the kernel families in backend/kernels/ — each family is optional. Ops (runtime/ops) own
// shapes, autograd and checks; they reach the heavy work through `Kernels`, which routes
// each family, for one dtype on one device, to the first backend in the Context's list that
// is enabled there and has it. On the host the list ends in the reference backend, which has
// every family, so an op that a faster backend lacks falls back to it; on a device the list
// is the device's backend alone, and an op it lacks throws KernelMissing naming the op and
// the device. A new family is a header in backend/kernels/,
// an entry in KernelFamily (and its name in kernel_family_name), and its accessor on
// KernelBackend (with its case in has()), KernelBackendOf and Kernels.
#pragma once

#include <array>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runtime/backend/kernels/activation.h"
#include "runtime/backend/kernels/attention.h"
#include "runtime/backend/kernels/conv.h"
#include "runtime/backend/kernels/dense.h"
#include "runtime/backend/kernels/embedding.h"
#include "runtime/backend/kernels/loss.h"
#include "runtime/backend/kernels/norm.h"
#include "runtime/backend/kernels/optim.h"
#include "runtime/backend/kernels/pointwise.h"
#include "runtime/backend/kernels/recurrent.h"

namespace ty {

enum class KernelFamily {
  kDense,
  kConv,
  kNorm,
  kActivation,
  kPointwise,
  kLoss,
  kOptimizer,
  kEmbedding,
  kRecurrent,
  kAttention,
  kCount
};
inline constexpr int kNumKernelFamilies = static_cast<int>(KernelFamily::kCount);
const char* kernel_family_name(KernelFamily family);

class KernelBackend {
 public:
  virtual ~KernelBackend() = default;
  virtual std::string name() const = 0;
  // Whether this backend runs kernels for tensors of `dtype` on `device`.
  virtual bool enabled(DType dtype, Device device) const = 0;
  // Whether `family`'s layout-aware kernels (convolution, pooling, batch norm, channel bias
  // and sums) take and give tensors of `layout`. Plain: always.
  virtual bool handles(KernelFamily, Layout layout) const { return layout == Layout::kPlain; }

  // The families this backend implements (optional: null where it has none).
  virtual DenseKernels* dense() { return nullptr; }
  virtual ConvKernels* conv() { return nullptr; }
  virtual NormKernels* norm() { return nullptr; }
  virtual ActivationKernels* activation() { return nullptr; }
  virtual PointwiseKernels* pointwise() { return nullptr; }
  virtual LossKernels* loss() { return nullptr; }
  virtual OptimizerKernels* optimizer() { return nullptr; }
  virtual EmbeddingKernels* embedding() { return nullptr; }
  virtual RecurrentKernels* recurrent() { return nullptr; }
  virtual AttentionKernels* attention() { return nullptr; }

  bool has(KernelFamily family);
};

// A backend implementing `Families` (family interfaces, or classes implementing several):
// the accessors return this object for those, null for the rest.
template <class... Families>
class KernelBackendOf : public KernelBackend, public Families... {
 public:
  DenseKernels* dense() override { return as<DenseKernels>(); }
  ConvKernels* conv() override { return as<ConvKernels>(); }
  NormKernels* norm() override { return as<NormKernels>(); }
  ActivationKernels* activation() override { return as<ActivationKernels>(); }
  PointwiseKernels* pointwise() override { return as<PointwiseKernels>(); }
  LossKernels* loss() override { return as<LossKernels>(); }
  OptimizerKernels* optimizer() override { return as<OptimizerKernels>(); }
  EmbeddingKernels* embedding() override { return as<EmbeddingKernels>(); }
  RecurrentKernels* recurrent() override { return as<RecurrentKernels>(); }
  AttentionKernels* attention() override { return as<AttentionKernels>(); }

 private:
  template <class F>
  F* as() {
    if constexpr ((std::is_base_of_v<F, Families> || ...))
      return this;
    else
      return nullptr;
  }
};

// An op that no backend here implements for its dtype and device (a device backend that
// lacks a family, or a dtype no backend takes). The message names the op, the family, the
// dtype and the device; the command exits 2 (a model or precision this device cannot run).
class KernelMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Kernels {
 public:
  using Where = std::source_location;
  // Routes each family to the first of `backends` (in order of preference) that is enabled
  // for `dtype` on `device` and has the family.
  Kernels(const std::vector<KernelBackend*>& backends, DType dtype, Device device);

  // The family for the calling op (`where` names it in a KernelMissing).
  DenseKernels& dense(Where where = Where::current()) { return *route(KernelFamily::kDense, where).dense(); }
  ConvKernels& conv(Where where = Where::current()) { return *route(KernelFamily::kConv, where).conv(); }
  NormKernels& norm(Where where = Where::current()) { return *route(KernelFamily::kNorm, where).norm(); }
  ActivationKernels& activation(Where where = Where::current()) {
    return *route(KernelFamily::kActivation, where).activation();
  }
  PointwiseKernels& pointwise(Where where = Where::current()) {
    return *route(KernelFamily::kPointwise, where).pointwise();
  }
  LossKernels& loss(Where where = Where::current()) { return *route(KernelFamily::kLoss, where).loss(); }
  OptimizerKernels& optimizer(Where where = Where::current()) {
    return *route(KernelFamily::kOptimizer, where).optimizer();
  }
  EmbeddingKernels& embedding(Where where = Where::current()) {
    return *route(KernelFamily::kEmbedding, where).embedding();
  }
  RecurrentKernels& recurrent(Where where = Where::current()) {
    return *route(KernelFamily::kRecurrent, where).recurrent();
  }
  AttentionKernels& attention(Where where = Where::current()) {
    return *route(KernelFamily::kAttention, where).attention();
  }

  // The backend that runs `family` here (null: none does).
  KernelBackend* backend(KernelFamily family) const { return routes_[static_cast<int>(family)]; }
  // Whether `family`'s kernels here take tensors of `layout` (plain where none does: the
  // op will throw KernelMissing when it asks for the family).
  bool handles(KernelFamily family, Layout layout) const {
    KernelBackend* b = backend(family);
    return b ? b->handles(family, layout) : layout == Layout::kPlain;
  }

 private:
  KernelBackend& route(KernelFamily family, const Where& where) {
    KernelBackend* b = backend(family);
    if (!b) missing(family, where);
    return *b;
  }
  [[noreturn]] void missing(KernelFamily family, const Where& where) const;

  DType dtype_;
  Device device_;
  std::string candidates_;  // the backends' names, for errors
  std::array<KernelBackend*, kNumKernelFamilies> routes_{};
};

// The op a source location is in: "conv2d" for `ty::Var ty::ops::conv2d(...)` and for a
// lambda inside it; op_name_of takes the compiler's function name.
std::string op_name(const std::source_location& where);
std::string op_name_of(std::string_view function_name);

}  // namespace ty
