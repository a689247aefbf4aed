#include "runtime/backend/kernels.h"

#include <string_view>

#include "absl/strings/str_cat.h"

namespace ty {

const char* kernel_family_name(KernelFamily family) {
  switch (family) {
    case KernelFamily::kDense: return "dense";
    case KernelFamily::kConv: return "convolution";
    case KernelFamily::kNorm: return "normalization";
    case KernelFamily::kActivation: return "activation";
    case KernelFamily::kPointwise: return "pointwise";
    case KernelFamily::kLoss: return "loss";
    case KernelFamily::kOptimizer: return "optimizer";
  }
  return "?";
}

bool KernelBackend::has(KernelFamily family) {
  switch (family) {
    case KernelFamily::kDense: return dense() != nullptr;
    case KernelFamily::kConv: return conv() != nullptr;
    case KernelFamily::kNorm: return norm() != nullptr;
    case KernelFamily::kActivation: return activation() != nullptr;
    case KernelFamily::kPointwise: return pointwise() != nullptr;
    case KernelFamily::kLoss: return loss() != nullptr;
    case KernelFamily::kOptimizer: return optimizer() != nullptr;
  }
  return false;
}

Kernels::Kernels(const std::vector<KernelBackend*>& backends, DType dtype, Device device)
    : dtype_(dtype), device_(device) {
  for (KernelBackend* b : backends) absl::StrAppend(&candidates_, candidates_.empty() ? "" : ", ", b->name());
  for (int f = 0; f < kNumKernelFamilies; ++f)
    for (KernelBackend* b : backends)
      if (b->enabled(dtype, device) && b->has(static_cast<KernelFamily>(f))) {
        routes_[f] = b;
        break;
      }
}

void Kernels::missing(KernelFamily family, const Where& where) const {
  throw KernelMissing(absl::StrCat("op ", op_name(where), ": no backend here has ", kernel_family_name(family),
                                   " kernels for ", dtype_name(dtype_), " tensors on ", device_.str(), " (backends: ",
                                   candidates_, "); run this model on a device that has them (runtime.device)"));
}

std::string op_name(const std::source_location& where) {
  std::string_view f = where.function_name();
  f = f.substr(0, f.find('('));  // drop the parameters and any lambda suffix
  if (size_t space = f.rfind(' '); space != f.npos) f.remove_prefix(space + 1);  // and the return type
  std::string name(f);
  for (std::string_view ns : {"ty::", "ops::", "{anonymous}::"})  // namespaces say nothing here
    for (size_t at = name.find(ns); at != name.npos; at = name.find(ns)) name.erase(at, ns.size());
  return name;
}

}  // namespace ty
