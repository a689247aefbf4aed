#include "runtime/context.h"

#include <omp.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cpu/onednn_backend.h"
#include "runtime/backend/reference/reference_backend.h"
#include "runtime/device_runtime.h"
#include "runtime/status.h"

namespace ty {
namespace {

absl::StatusOr<std::unique_ptr<DeviceRuntime>> open_device(const ContextOptions& o) {
  if (o.device.kind == DeviceKind::kCPU) {
    if (o.compute != DType::kF32)
      return absl::InvalidArgumentError(
          absl::StrCat("mixed precision (", dtype_name(o.compute), ") runs on CUDA devices only"));
    return std::unique_ptr<DeviceRuntime>();
  }
  TY_ASSIGN_OR_RETURN(DeviceRuntime rt,
                      open_cuda_runtime(o.device.index, o.allow_tf32, o.benchmark_convolutions, o.compute));
  return std::make_unique<DeviceRuntime>(std::move(rt));
}

std::unique_ptr<DeviceRuntime> open_or_die(const ContextOptions& o) {
  absl::StatusOr<std::unique_ptr<DeviceRuntime>> rt = open_device(o);
  CHECK(rt.ok()) << o.device.str() << ": " << rt.status().message();
  return std::move(*rt);
}

}  // namespace

Context::Context(const ContextOptions& options) : Context(options, open_or_die(options)) {}

Context::Context(const ContextOptions& options, std::unique_ptr<DeviceRuntime> device)
    : options_(options),
      threads_(options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency())),
      device_(std::move(device)),
      allocator_(device_              ? device_->allocator
                 : options.shape_only ? std::shared_ptr<Allocator>(std::make_shared<ShapeOnlyAllocator>())
                                      : std::make_shared<CachingHostAllocator>()) {
  omp_set_num_threads(threads_);
  if (device_) {
    backends_.push_back(std::move(device_->kernels));
  } else if (options.shape_only) {
    // No kernels: an op on tensors without data throws KernelMissing naming it.
  } else {
    if (!options.use_reference_kernels) backends_.push_back(std::make_unique<OnednnBackend>());
    backends_.push_back(std::make_unique<ReferenceBackend>());
  }
  std::vector<KernelBackend*> candidates;
  for (auto& b : backends_) candidates.push_back(b.get());
  for (DType t : {DType::kF32, DType::kF64, DType::kI32, DType::kU8, DType::kBF16, DType::kF16}) {
    CHECK_EQ(static_cast<size_t>(t), kernels_.size()) << "DType values are 0, 1, ...";
    kernels_.push_back(std::make_unique<Kernels>(candidates, t, options_.device));
  }
}

absl::StatusOr<std::unique_ptr<Context>> Context::create(const ContextOptions& options) {
  TY_ASSIGN_OR_RETURN(std::unique_ptr<DeviceRuntime> device, open_device(options));
  return std::unique_ptr<Context>(new Context(options, std::move(device)));
}

Context::~Context() {
  if (device_) device_->synchronize();
}

void Context::synchronize() {
  if (device_) device_->synchronize();
}

void* Context::stream() const { return device_ ? device_->stream : nullptr; }

}  // namespace ty
