#include "runtime/context.h"

#include <omp.h>

#include <thread>

#include "runtime/backend/cpu/onednn_backend.h"
#include "runtime/backend/reference/reference_backend.h"

namespace ty {

Context::Context(const ContextOptions& options)
    : options_(options),
      threads_(options.threads > 0 ? options.threads
                                   : static_cast<int>(std::thread::hardware_concurrency())),
      allocator_(std::make_shared<CachingHostAllocator>()),
      dropout_rng_(options.seed, options.dropout_stream) {
  CHECK(options.device.kind == DeviceKind::kCPU)
      << "device " << options.device.str() << " has no backend in this build";
  omp_set_num_threads(threads_);
  if (!options.use_reference_kernels) backends_.push_back(std::make_unique<OnednnBackend>());
  backends_.push_back(std::make_unique<ReferenceBackend>());
}

Context::~Context() = default;

KernelBackend& Context::kernels(DType dtype) {
  for (auto& b : backends_)
    if (b->enabled(dtype, options_.device)) return *b;
  LOG(FATAL) << "no kernel backend for " << dtype_name(dtype) << " on " << options_.device.str();
}

}  // namespace ty
