// Context: everything an op needs to run, passed explicitly (no globals): the device, the
// allocator, the kernel backends, the intra-op thread count, the RNG stream for dropout, and
// the autograd tape that records ops (none: inference, nothing recorded).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/backend/kernels.h"
#include "runtime/philox.h"

namespace ty {

class Tape;

struct ContextOptions {
  Device device;
  int threads = 0;  // 0: all cores of this host
  uint64_t seed = 0;
  bool use_reference_kernels = false;  // force the reference backend (tests)
  uint64_t dropout_stream = 1;         // distinct per data-parallel rank
};

class Context {
 public:
  explicit Context(const ContextOptions& options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Device device() const { return options_.device; }
  int threads() const { return threads_; }
  const std::shared_ptr<Allocator>& allocator() const { return allocator_; }
  // The first enabled backend for `dtype` on this device, ending in the reference backend.
  KernelBackend& kernels(DType dtype);

  Tensor empty(Shape shape, DType dtype = DType::kF32) const {
    return Tensor::empty(allocator_, std::move(shape), dtype, options_.device);
  }
  Tensor zeros(Shape shape, DType dtype = DType::kF32) const {
    Tensor t = empty(std::move(shape), dtype);
    t.zero();
    return t;
  }

  // Recording: ops append to the tape while one is set.
  Tape* tape() const { return tape_; }
  void set_tape(Tape* tape) { tape_ = tape; }

  RngStream& dropout_rng() { return dropout_rng_; }

  // (optional) Sums a tensor over the ranks of a data-parallel job, in place; set by the
  // trainer for synchronized batch norm. Unset: one rank.
  using CrossRankSum = std::function<void(Tensor&)>;
  const CrossRankSum& cross_rank_sum() const { return cross_rank_sum_; }
  void set_cross_rank_sum(CrossRankSum fn) { cross_rank_sum_ = std::move(fn); }

 private:
  ContextOptions options_;
  int threads_;
  std::shared_ptr<Allocator> allocator_;
  std::vector<std::unique_ptr<KernelBackend>> backends_;
  Tape* tape_ = nullptr;
  RngStream dropout_rng_;
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
