// CachingDeviceAllocator: GPU memory for one device, cached per stream so that a training
// step that allocates the same sizes every iteration stops calling cudaMalloc (which also
// synchronizes the device). Reuse is safe without synchronization on the stream a block
// was allocated for (stream order); a block also used on another stream (record_use) is
// reused only after an event recorded on that stream has completed. Reports bytes in use,
// the peak, and bytes cached. Host-to-device copies go through StreamAllocator's ring of
// page-locked staging buffers.
#pragma once

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
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
// compute stream): tensors on the device allocate here, and their copies and fills are
// queued on that stream. `owner` (optional) keeps the device allocator and the stream alive
// as long as any tensor of this allocator.
class StreamAllocator final : public Allocator {
 public:
  StreamAllocator(CachingDeviceAllocator& device, cudaStream_t stream, std::shared_ptr<void> owner = nullptr)
      : device_(device), stream_(stream), owner_(std::move(owner)) {}
  ~StreamAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  size_t bytes_in_use() const override { return device_.bytes_in_use(); }
  size_t peak_bytes_in_use() const override { return device_.peak_bytes_in_use(); }
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) override;
  void to_host(void* host_dst, const void* src, size_t bytes) override;
  // Copies the bytes into a page-locked staging buffer (a ring of four, each reused once
  // its last copy has finished) and queues the device copy from there: the caller may
  // reuse `host_src` at once, and the host does not wait for the device.
  void from_host(void* dst, const void* host_src, size_t bytes) override;
  void fill(void* dst, size_t count, const void* pattern, size_t pattern_bytes) override;
  cudaStream_t stream() const { return stream_; }

 private:
  struct Staging {
    void* buffer = nullptr;
    size_t size = 0;
    cudaEvent_t copied = nullptr;  // recorded after the last copy out of `buffer`
  };
  static constexpr size_t kStagingChunk = size_t{16} << 20;

  CachingDeviceAllocator& device_;
  cudaStream_t stream_;
  std::shared_ptr<void> owner_;
  std::mutex staging_mu_;
  Staging staging_[4];
  size_t next_staging_ = 0;
};

}  // namespace ty
