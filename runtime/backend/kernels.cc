#include "runtime/backend/kernels.h"

#include <algorithm>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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
    case KernelFamily::kEmbedding: return "embedding";
    case KernelFamily::kRecurrent: return "recurrent";
    case KernelFamily::kAttention: return "attention";
    case KernelFamily::kCount: break;
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
    case KernelFamily::kEmbedding: return embedding() != nullptr;
    case KernelFamily::kRecurrent: return recurrent() != nullptr;
    case KernelFamily::kAttention: return attention() != nullptr;
    case KernelFamily::kCount: break;
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

std::string op_name(const std::source_location& where) { return op_name_of(where.function_name()); }

std::string op_name_of(std::string_view f) {
  // The qualified name ends at the '(' that opens the parameters ("operator()" keeps its own).
  size_t end = f.find('(');
  if (end != f.npos && end >= 8 && f.substr(end - 8, 8) == "operator") end += 2;
  f = f.substr(0, std::min(end, f.size()));
  // Drop the return type: up to the last space outside template arguments.
  int depth = 0;
  for (size_t i = f.size(); i-- > 0;) {
    if (f[i] == '>') ++depth;
    if (f[i] == '<') --depth;
    if (f[i] == ' ' && depth == 0) {
      f.remove_prefix(i + 1);
      break;
    }
  }
  // Drop the namespace components that say nothing here.
  std::vector<std::string> kept;
  depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= f.size(); ++i) {
    if (i < f.size() && f[i] == '<') ++depth;
    if (i < f.size() && f[i] == '>') --depth;
    if (i == f.size() || (depth == 0 && f.substr(i, 2) == "::")) {
      std::string_view part = f.substr(start, i - start);
      if (part != "ty" && part != "ops" && part != "{anonymous}" && part != "(anonymous namespace)")
        kept.emplace_back(part);
      start = i + 2;
      ++i;
    }
  }
  return absl::StrJoin(kept, "::");
}

}  // namespace ty
