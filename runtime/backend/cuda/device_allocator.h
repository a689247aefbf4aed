// CachingDeviceAllocator: GPU memory for one device, cached per stream so that a training
// step that allocates the same sizes every iteration stops calling cudaMalloc (which also
// synchronizes the device). Reuse is safe without synchronization on the stream a block
// was allocated for (stream order); a block also used on another stream (record_use) is
// reused only after an event recorded on that stream has completed. Reports bytes in use,
// the peak, and bytes cached. PinnedHostAllocator does the same for page-locked host
// buffers (cudaHostAlloc) used for transfers.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/allocator.h"

namespace ty {

class CachingDeviceAllocator {
 public:
  explicit CachingDeviceAllocator(int device);
  ~CachingDeviceAllocator();

  // At least `bytes` (rounded up to 512 B, or to 2 MiB above 1 MiB) for use on `stream`.
  // Out of memory: the cache is released and the allocation retried once; then the error
  // names the size, the bytes in use and the device.
  absl::StatusOr<void*> allocate(size_t bytes, cudaStream_t stream);
  void deallocate(void* p);
  // `p` is also used by work queued on `stream` from now on.
  void record_use(void* p, cudaStream_t stream);
  // Frees every cached block (waiting for their pending uses).
  absl::Status release_cache();

  size_t bytes_in_use() const;
  size_t peak_bytes_in_use() const;
  size_t bytes_cached() const;
  static size_t round_up(size_t bytes);

 private:
  struct Block {
    size_t size = 0;
    cudaStream_t stream = nullptr;
    std::vector<cudaEvent_t> pending;  // uses on other streams
  };
  void collect_finished();  // deferred blocks whose events completed -> free lists

  int device_;
  mutable std::mutex mu_;
  std::unordered_map<void*, Block> live_;
  std::map<std::pair<cudaStream_t, size_t>, std::vector<void*>> free_;
  std::vector<std::pair<void*, Block>> deferred_;
  size_t in_use_ = 0, peak_ = 0, cached_ = 0;
};

// The runtime's Allocator over a CachingDeviceAllocator and one stream (a Context's
// compute stream): tensors on the device allocate here.
class StreamAllocator final : public Allocator {
 public:
  StreamAllocator(CachingDeviceAllocator& device, cudaStream_t stream) : device_(device), stream_(stream) {}
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  size_t bytes_in_use() const override { return device_.bytes_in_use(); }
  size_t peak_bytes_in_use() const override { return device_.peak_bytes_in_use(); }

 private:
  CachingDeviceAllocator& device_;
  cudaStream_t stream_;
};

// Page-locked host memory (cudaHostAlloc), cached by rounded size, for host<->device copies
// that overlap compute.
class PinnedHostAllocator final : public Allocator {
 public:
  ~PinnedHostAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  size_t bytes_in_use() const override;
  size_t peak_bytes_in_use() const override;

 private:
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t in_use_ = 0, peak_ = 0;
};

}  // namespace ty
