#include "runtime/backend/cuda/device_allocator.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/cuda_check.h"
#include "runtime/backend/cuda/cuda_kernels.h"

namespace ty {
namespace {

// Switches to `device` for the scope of one call, restoring the caller's device after.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    cudaGetDevice(&previous_);
    if (previous_ != device) cudaSetDevice(device);
  }
  ~DeviceScope() { cudaSetDevice(previous_); }

 private:
  int previous_ = 0;
};

}  // namespace

CachingDeviceAllocator::CachingDeviceAllocator(int device) : device_(device) {}

CachingDeviceAllocator::~CachingDeviceAllocator() { (void)release_cache(); }

size_t CachingDeviceAllocator::round_up(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20;
  if (bytes == 0) bytes = 1;
  return bytes <= (size_t{1} << 20) ? (bytes + kSmall - 1) / kSmall * kSmall : (bytes + kLarge - 1) / kLarge * kLarge;
}

void CachingDeviceAllocator::collect_finished() {
  for (size_t i = 0; i < deferred_.size();) {
    Block& b = deferred_[i].second;
    b.pending.erase(std::remove_if(b.pending.begin(), b.pending.end(),
                                   [](cudaEvent_t e) {
                                     if (cudaEventQuery(e) != cudaSuccess) return false;
                                     cudaEventDestroy(e);
                                     return true;
                                   }),
                    b.pending.end());
    if (b.pending.empty()) {
      free_[{b.stream, b.size}].push_back(deferred_[i].first);
      deferred_[i] = std::move(deferred_.back());
      deferred_.pop_back();
    } else {
      ++i;
    }
  }
}

absl::StatusOr<void*> CachingDeviceAllocator::allocate(size_t bytes, cudaStream_t stream) {
  const size_t size = round_up(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  collect_finished();
  void* p = nullptr;
  auto it = free_.find({stream, size});
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cached_ -= size;
  } else {
    DeviceScope scope(device_);
    cudaError_t e = cudaMalloc(&p, size);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it, free the cache, try once more
      mu_.unlock();
      absl::Status released = release_cache();
      mu_.lock();
      if (released.ok()) e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      return absl::ResourceExhaustedError(absl::StrCat("cudaMalloc of ", size, " bytes on CUDA device ", device_,
                                                       " failed (", cudaGetErrorName(e), "); ", in_use_,
                                                       " bytes in use by trainyard; lower data.batch_size"));
    }
  }
  live_[p] = Block{size, stream, {}};
  in_use_ += size;
  peak_ = std::max(peak_, in_use_);
  return p;
}

void CachingDeviceAllocator::deallocate(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  CHECK(it != live_.end()) << "device pointer " << p << " was not allocated here";
  Block b = std::move(it->second);
  live_.erase(it);
  in_use_ -= b.size;
  cached_ += b.size;
  if (b.pending.empty()) {
    free_[{b.stream, b.size}].push_back(p);
  } else {
    deferred_.emplace_back(p, std::move(b));
  }
}

void CachingDeviceAllocator::record_use(void* p, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  CHECK(it != live_.end()) << "device pointer " << p << " was not allocated here";
  if (it->second.stream == stream) return;
  DeviceScope scope(device_);
  cudaEvent_t e;
  TY_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "record_use");
  TY_CUDA_CHECK(cudaEventRecord(e, stream), "record_use");
  it->second.pending.push_back(e);
}

absl::Status CachingDeviceAllocator::release_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  DeviceScope scope(device_);
  for (auto& [p, b] : deferred_) {
    for (cudaEvent_t e : b.pending) {
      cudaEventSynchronize(e);
      cudaEventDestroy(e);
    }
    free_[{b.stream, b.size}].push_back(p);
  }
  deferred_.clear();
  absl::Status first;
  for (auto& [key, blocks] : free_)
    for (void* p : blocks) {
      absl::Status st = TY_CUDA_STATUS(cudaFree(p), "releasing the device memory cache");
      if (first.ok()) first = st;
    }
  free_.clear();
  cached_ = 0;
  return first;
}

size_t CachingDeviceAllocator::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

size_t CachingDeviceAllocator::peak_bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_;
}

size_t CachingDeviceAllocator::bytes_cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cached_;
}

void* StreamAllocator::allocate(size_t bytes) {
  absl::StatusOr<void*> p = device_.allocate(bytes, stream_);
  if (p.status().code() == absl::StatusCode::kResourceExhausted) throw OutOfMemory(std::string(p.status().message()));
  CHECK(p.ok()) << p.status().message();
  return *p;
}

void StreamAllocator::deallocate(void* p, size_t) { device_.deallocate(p); }

void StreamAllocator::copy(void* dst, const void* src, size_t bytes) {
  if (dst == src || bytes == 0) return;
  TY_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "tensor copy");
}

void StreamAllocator::copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width,
                              size_t rows) {
  if (width == 0 || rows == 0) return;
  TY_CUDA_CHECK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, width, rows, cudaMemcpyDeviceToDevice, stream_),
                "strided tensor copy");
}

void StreamAllocator::to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  TY_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_), "copy to host");
  TY_CUDA_CHECK(cudaStreamSynchronize(stream_), "copy to host");
}

void StreamAllocator::from_host(void* dst, const void* host_src, size_t bytes) {
  std::lock_guard<std::mutex> lock(staging_mu_);
  for (size_t done = 0; done < bytes;) {
    const size_t n = std::min(bytes - done, kStagingChunk);
    Staging& s = staging_[next_staging_++ % 4];
    if (s.copied == nullptr) {
      TY_CUDA_CHECK(cudaEventCreateWithFlags(&s.copied, cudaEventDisableTiming), "staging event");
    } else {
      TY_CUDA_CHECK(cudaEventSynchronize(s.copied), "waiting for a staging buffer");
    }
    if (s.size < n) {
      if (s.buffer) TY_CUDA_CHECK(cudaFreeHost(s.buffer), "staging buffer");
      const size_t size = std::max(n, size_t{1} << 20);
      TY_CUDA_CHECK(cudaHostAlloc(&s.buffer, size, cudaHostAllocDefault), "page-locked staging buffer");
      s.size = size;
    }
    std::memcpy(s.buffer, static_cast<const char*>(host_src) + done, n);
    TY_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + done, s.buffer, n, cudaMemcpyHostToDevice, stream_),
                  "copy from host");
    TY_CUDA_CHECK(cudaEventRecord(s.copied, stream_), "copy from host");
    done += n;
  }
}

StreamAllocator::~StreamAllocator() {
  for (Staging& s : staging_) {
    if (s.copied) {
      cudaEventSynchronize(s.copied);
      cudaEventDestroy(s.copied);
    }
    if (s.buffer) cudaFreeHost(s.buffer);
  }
}

void StreamAllocator::fill(void* dst, size_t count, const void* pattern, size_t pattern_bytes) {
  if (count == 0) return;
  if (pattern_bytes == 1) {
    TY_CUDA_CHECK(cudaMemsetAsync(dst, *static_cast<const unsigned char*>(pattern), count, stream_), "tensor fill");
    return;
  }
  CHECK(pattern_bytes == 2 || pattern_bytes == 4 || pattern_bytes == 8)
      << "fill pattern of " << pattern_bytes << " bytes";
  uint64_t bits = 0;
  std::memcpy(&bits, pattern, pattern_bytes);
  cuda::fill(stream_, dst, static_cast<int64_t>(count), bits, static_cast<int>(pattern_bytes));
}

}  // namespace ty
