// Host memory for tensors: a caching allocator that keeps freed blocks by size, so that a
// training step that allocates the same shapes every iteration stops calling malloc.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace ty {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual size_t bytes_in_use() const = 0;
  virtual size_t peak_bytes_in_use() const = 0;
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

}  // namespace ty
