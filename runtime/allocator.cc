#include "runtime/allocator.h"

#include <atomic>

#include <unistd.h>

#include "absl/strings/str_cat.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace ty {

void Allocator::copy(void* dst, const void* src, size_t bytes) {
  if (dst != src && bytes > 0) std::memmove(dst, src, bytes);
}

void Allocator::copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows) {
  for (size_t r = 0; r < rows; ++r)
    std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, width);
}

void Allocator::to_host(void* host_dst, const void* src, size_t bytes) { copy(host_dst, src, bytes); }

void Allocator::from_host(void* dst, const void* host_src, size_t bytes) { copy(dst, host_src, bytes); }

void Allocator::fill(void* dst, size_t count, const void* pattern, size_t pattern_bytes) {
  char* d = static_cast<char*>(dst);
  if (pattern_bytes == 1) {
    std::memset(d, *static_cast<const unsigned char*>(pattern), count);
    return;
  }
  for (size_t i = 0; i < count; ++i) std::memcpy(d + i * pattern_bytes, pattern, pattern_bytes);
}

namespace {
std::atomic<size_t> g_host_budget{0};  // 0: physical memory
std::atomic<size_t> g_host_in_use{0};  // by every CachingHostAllocator (their caches are bounded)
}  // namespace

size_t physical_memory_bytes() {
  static const size_t physical =
      static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return physical;
}

void set_host_memory_budget(size_t bytes) { g_host_budget = bytes; }

const std::shared_ptr<Allocator>& host_memory() {
  static auto* memory = new std::shared_ptr<Allocator>(std::make_shared<CachingHostAllocator>(0));
  return *memory;
}
size_t host_memory_in_use() { return g_host_in_use.load(); }

void* ShapeOnlyAllocator::allocate(size_t) { return nullptr; }  // a stray access faults

size_t host_memory_budget() {
  const size_t b = g_host_budget.load();
  return b > 0 ? b : physical_memory_bytes();
}

CachingHostAllocator::CachingHostAllocator(size_t cache_limit) : cache_limit_(cache_limit) {}

CachingHostAllocator::~CachingHostAllocator() { release_cache(); }

size_t CachingHostAllocator::round_up(size_t bytes) {
  if (bytes == 0) bytes = 1;
  return (bytes + 63) / 64 * 64;
}

void* CachingHostAllocator::allocate(size_t bytes) {
  // A tensor larger than the machine's memory, or tensors together past this process's
  // budget, fail here, not later in the kernel's OOM killer after overcommit (the command
  // then exits with class 4, out of memory).
  const size_t physical = physical_memory_bytes();
  if (bytes > physical)
    throw OutOfMemory(absl::StrCat("a host tensor of ", bytes, " bytes is larger than this machine's ", physical,
                                   " bytes of memory"));
  size_t size = round_up(bytes);
  if (const size_t now = g_host_in_use.fetch_add(size) + size; now > host_memory_budget()) {
    g_host_in_use -= size;
    throw OutOfMemory(absl::StrCat("host tensors would take ", now, " bytes, past this rank's ", host_memory_budget(),
                                   " bytes (the host's memory shared by its ranks)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.find(size);
  void* p = nullptr;
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
  } else {
    p = std::aligned_alloc(64, size);
    if (p == nullptr) {
      g_host_in_use -= size;
      throw OutOfMemory(absl::StrCat("host memory: an allocation of ", size, " bytes failed"));
    }
  }
  in_use_ += size;
  if (in_use_ > peak_) peak_ = in_use_;
  return p;
}

void CachingHostAllocator::deallocate(void* p, size_t bytes) {
  if (p == nullptr) return;
  size_t size = round_up(bytes);
  g_host_in_use -= size;
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
