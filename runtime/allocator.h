// Host memory for tensors: a caching allocator that keeps freed blocks by size, so that a
// training step that allocates the same shapes every iteration stops calling malloc.
#pragma once

#include <new>
#include <string>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace ty {

// An allocation that memory could not satisfy, on the host or a device: thrown from the
// allocators (tensors are made where no Status can travel) and caught where a command
// runs, which then exits with class 4 (worker/job/exit_codes.h) and this message.
class OutOfMemory : public std::bad_alloc {
 public:
  explicit OutOfMemory(std::string what) : what_(std::move(what)) {}
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

// The host bytes that this process's host tensors may take together (blocks in use; each
// allocator's cache of freed blocks is bounded apart): by default the machine's physical
// memory; a rank sharing its host with others sets its share. An allocation past it throws
// OutOfMemory instead of leaving the kernel's OOM killer to end the process after
// overcommit.
void set_host_memory_budget(size_t bytes);
size_t host_memory_budget();
size_t physical_memory_bytes();
// What their tensors take now (blocks in use; the allocators' caches are bounded apart).
size_t host_memory_in_use();

class Allocator;
// Host memory outside any Context, uncached: control messages between ranks (a few
// numbers), values staged on the host on their way to a device, loaders' buffers, tools.
// A run's tensors come from its Context.
const std::shared_ptr<Allocator>& host_memory();

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual size_t bytes_in_use() const = 0;
  virtual size_t peak_bytes_in_use() const = 0;

  // Moving bytes in this allocator's memory ("here") and between it and host memory. The
  // defaults are for host memory (memcpy, memset); a device allocator queues the work on
  // its stream in call order, and to_host() returns once the bytes have arrived.
  virtual void copy(void* dst, const void* src, size_t bytes);
  // `rows` rows of `width` bytes, `src_pitch` / `dst_pitch` bytes apart.
  virtual void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows);
  virtual void to_host(void* host_dst, const void* src, size_t bytes);
  // Returns once `host_src` may be reused.
  virtual void from_host(void* dst, const void* host_src, size_t bytes);
  // `count` copies of the `pattern_bytes` (1, 2, 4 or 8) long `pattern`.
  virtual void fill(void* dst, size_t count, const void* pattern, size_t pattern_bytes);
};

// 64-byte aligned blocks; freed blocks are cached per rounded size up to `cache_limit` bytes.
class CachingHostAllocator final : public Allocator {
 public:
  explicit CachingHostAllocator(size_t cache_limit = size_t{1} << 30);
  ~CachingHostAllocator() override;
  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  size_t bytes_in_use() const override;
  size_t peak_bytes_in_use() const override;
  void release_cache();

 private:
  static size_t round_up(size_t bytes);
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t cache_limit_;
  size_t cached_bytes_ = 0;
  size_t in_use_ = 0;
  size_t peak_ = 0;
};

// Memory that is never there: every allocation is null (a stray access faults), and copies
// and fills do nothing. A Context on it (ContextOptions::shape_only) builds a model's layers
// with their shapes but no data, to size them before any memory is spent.
class ShapeOnlyAllocator final : public Allocator {
 public:
  void* allocate(size_t) override;
  void deallocate(void*, size_t) override {}
  size_t bytes_in_use() const override { return 0; }
  size_t peak_bytes_in_use() const override { return 0; }
  void copy(void*, const void*, size_t) override {}
  void copy_2d(void*, size_t, const void*, size_t, size_t, size_t) override {}
  void to_host(void*, const void*, size_t) override {}
  void from_host(void*, const void*, size_t) override {}
  void fill(void*, size_t, const void*, size_t) override {}
};

}  // namespace ty
