#include "runtime/allocator.h"

#include <cstdlib>
#include <new>

namespace ty {

CachingHostAllocator::CachingHostAllocator(size_t cache_limit) : cache_limit_(cache_limit) {}

CachingHostAllocator::~CachingHostAllocator() { release_cache(); }

size_t CachingHostAllocator::round_up(size_t bytes) {
  if (bytes == 0) bytes = 1;
  return (bytes + 63) / 64 * 64;
}

void* CachingHostAllocator::allocate(size_t bytes) {
  size_t size = round_up(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ += size;
  if (in_use_ > peak_) peak_ = in_use_;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
    return p;
  }
  void* p = std::aligned_alloc(64, size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void CachingHostAllocator::deallocate(void* p, size_t bytes) {
  if (p == nullptr) return;
  size_t size = round_up(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  in_use_ -= size;
  if (cached_bytes_ + size > cache_limit_) {
    std::free(p);
    return;
  }
  free_[size].push_back(p);
  cached_bytes_ += size;
}

size_t CachingHostAllocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

size_t CachingHostAllocator::peak_bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

void CachingHostAllocator::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) std::free(p);
  free_.clear();
  cached_bytes_ = 0;
}

}  // namespace ty
