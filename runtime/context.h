// Context: everything an op needs to run, passed explicitly (no globals): the device, the
// allocator, the kernel backends, the intra-op thread count, the key of dropout masks, and
// the autograd tape that records ops (none: inference, nothing recorded). On a CUDA device
// every op's work is queued on the Context's compute stream; nothing waits for the device
// except reading values on the host (Tensor::host/item/at) and synchronize().
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/allocator.h"
#include "runtime/backend/kernels.h"

namespace ty {

class Tape;

struct ContextOptions {
  Device device;
  int threads = 0;  // 0: all cores of this host
  uint64_t seed = 0;
  bool use_reference_kernels = false;  // force the reference backend (tests)
  // Tensors with shapes and no data (ShapeOnlyAllocator), on the host: for sizing a model
  // before building it for real. No kernels: an op throws KernelMissing.
  bool shape_only = false;
  bool allow_tf32 = false;             // CUDA: TF32 tensor cores for f32 matmul and convolution
  bool benchmark_convolutions = true;  // CUDA: time cuDNN's algorithms on each new shape
  // CUDA mixed precision: kBF16 or kF16 rounds the inputs of matrix products and
  // convolutions to 16 bits (accumulating in f32); everything else stays f32.
  DType compute = DType::kF32;
};

struct DeviceRuntime;

// What a dropout mask is drawn from besides the seed and the layer (ops::dropout): the
// optimizer step and the batch's first sample, as a position in the epoch's order (the
// batch's rows are the positions after it). The trainer sets them before each batch's
// forward; no state carries from one mask to the next.
struct DropoutKey {
  uint64_t step = 0;
  uint64_t first_sample = 0;
};

class Context {
 public:
  // Fails the process if the device cannot be opened: use create() where that is input.
  explicit Context(const ContextOptions& options = {});
  // The Context, or an error naming the device or library that is missing.
  static absl::StatusOr<std::unique_ptr<Context>> create(const ContextOptions& options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Device device() const { return options_.device; }
  int threads() const { return threads_; }
  const std::shared_ptr<Allocator>& allocator() const { return allocator_; }
  // The kernels for tensors of `dtype` on this device, each family routed to its backend
  // (backend/kernels.h): on the host oneDNN where it has the family and takes the dtype,
  // else the reference backend; on a CUDA device the CUDA backend alone.
  Kernels& kernels(DType dtype) { return *kernels_[static_cast<size_t>(dtype)]; }

  Tensor empty(Shape shape, DType dtype = DType::kF32) const {
    return Tensor::empty(allocator_, std::move(shape), dtype, options_.device);
  }
  Tensor zeros(Shape shape, DType dtype = DType::kF32) const {
    Tensor t = empty(std::move(shape), dtype);
    t.zero();
    return t;
  }
  // `t` in this Context's memory (itself when it is already there).
  Tensor to_device(const Tensor& t) const {
    return t.device() == options_.device ? t : t.copy_to(allocator_, options_.device);
  }
  bool on_gpu() const { return options_.device.kind == DeviceKind::kCUDA; }
  bool shape_only() const { return options_.shape_only; }
  // Waits for every op queued so far (a no-op on the CPU).
  void synchronize();
  // The compute stream (cudaStream_t) on a GPU, else null.
  void* stream() const;

  // Recording: ops append to the tape while one is set.
  Tape* tape() const { return tape_; }
  void set_tape(Tape* tape) { tape_ = tape; }

  uint64_t seed() const { return options_.seed; }
  DropoutKey& dropout_key() { return dropout_key_; }

  // (optional) Sums a tensor over the ranks of a data-parallel job, in place; set by the
  // trainer for synchronized batch norm. Unset: one rank.
  using CrossRankSum = std::function<void(Tensor&)>;
  const CrossRankSum& cross_rank_sum() const { return cross_rank_sum_; }
  void set_cross_rank_sum(CrossRankSum fn) { cross_rank_sum_ = std::move(fn); }

 private:
  Context(const ContextOptions& options, std::unique_ptr<DeviceRuntime> device);

  ContextOptions options_;
  int threads_;
  std::unique_ptr<DeviceRuntime> device_;  // null on the CPU
  std::shared_ptr<Allocator> allocator_;
  std::vector<std::unique_ptr<KernelBackend>> backends_;  // in order of preference
  std::vector<std::unique_ptr<Kernels>> kernels_;         // per DType
  Tape* tape_ = nullptr;
  DropoutKey dropout_key_;
  CrossRankSum cross_rank_sum_;
};

// Sets `ctx`'s tape for a scope (nullptr: no recording), restoring the previous one after.
class TapeScope {
 public:
  TapeScope(Context& ctx, Tape* tape) : ctx_(ctx), prev_(ctx.tape()) { ctx.set_tape(tape); }
  ~TapeScope() { ctx_.set_tape(prev_); }

 private:
  Context& ctx_;
  Tape* prev_;
};

}  // namespace ty
