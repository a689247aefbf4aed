// host_device_io (the record kernels' CPU reference) and pinned_memory.
#include "runtime/device_io.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

absl::StatusOr<void*> aligned_host(size_t bytes, const char* what) {
  void* p = std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096);
  if (p == nullptr) return absl::ResourceExhaustedError(absl::StrCat("out of host memory for ", bytes, " bytes of ", what));
  return p;
}

class HostDeviceIo final : public DeviceIo {
 public:
  HostDeviceIo() { fill_crc32c_tables(tables_); }
  Device device() const override { return Device{}; }
  absl::StatusOr<void*> alloc_pinned(size_t bytes) override { return aligned_host(bytes, "staging memory"); }
  void free_pinned(void* p) override { std::free(p); }
  absl::StatusOr<void*> alloc_device(size_t bytes) override { return aligned_host(bytes, "device stand-in memory"); }
  void free_device(void* p) override { std::free(p); }
  absl::Status copy_to_device(void* device, const void* pinned, size_t bytes) override {
    std::memcpy(device, pinned, bytes);
    return absl::OkStatus();
  }
  absl::Status copy_to_host(void* pinned, const void* device, size_t bytes) override {
    std::memcpy(pinned, device, bytes);
    return absl::OkStatus();
  }
  absl::Status check_records(const uint8_t* const* records, int64_t n, const RecordLayout& layout,
                             uint8_t* flags) override {
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t crc = layout.has_crc ? crc32c_bytes(tables_, records[i], layout.payload_bytes) : 0;
      flags[i] = record_flags(records[i], layout, crc);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Marker> mark_copies() override { return Marker(); }
  absl::Status decode_records(const Marker&, const uint8_t* const* records, int64_t n, const RecordLayout& layout,
                              void* x, void* y) override {
    for (int64_t i = 0; i < n; ++i)
      decode_record_part(records[i], layout, 0, layout.x_count, static_cast<char*>(x) + i * layout.x_out_bytes(),
                         static_cast<uint8_t*>(y) + i * layout.y_bytes);
    return absl::OkStatus();
  }
  absl::StatusOr<Marker> mark_compute() override { return Marker(); }
  bool reached(const Marker&) override { return true; }
  absl::Status wait(const Marker&) override { return absl::OkStatus(); }

 private:
  Crc32cTables tables_;
};

class PinnedAllocator final : public Allocator {
 public:
  PinnedAllocator(std::shared_ptr<DeviceIo> io, size_t cache_limit) : io_(std::move(io)), cache_limit_(cache_limit) {}
  ~PinnedAllocator() override {
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) io_->free_pinned(p);
  }
  // (Page-locking and freeing run outside the lock: they are slow and may wait for the device.)
  void* allocate(size_t bytes) override {
    const size_t size = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        count_in(size);
        return p;
      }
    }
    absl::StatusOr<void*> fresh = io_->alloc_pinned(size);
    if (!fresh.ok()) throw OutOfMemory(std::string(fresh.status().message()));
    std::lock_guard<std::mutex> lock(mu_);
    count_in(size);
    return *fresh;
  }
  void deallocate(void* p, size_t bytes) override {
    const size_t size = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_use_ -= size;
      if (cached_ + size <= cache_limit_) {
        free_[size].push_back(p);
        cached_ += size;
        return;
      }
    }
    io_->free_pinned(p);
  }
  size_t bytes_in_use() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return in_use_;
  }
  size_t peak_bytes_in_use() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return peak_;
  }

 private:
  static size_t round_up(size_t bytes) { return (std::max<size_t>(bytes, 1) + 4095) / 4096 * 4096; }
  void count_in(size_t size) {  // (under mu_)
    in_use_ += size;
    peak_ = std::max(peak_, in_use_);
  }
  std::shared_ptr<DeviceIo> io_;
  size_t cache_limit_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t in_use_ = 0, peak_ = 0, cached_ = 0;
};

}  // namespace

std::shared_ptr<DeviceIo> host_device_io() { return std::make_shared<HostDeviceIo>(); }

std::shared_ptr<Allocator> pinned_memory(std::shared_ptr<DeviceIo> io, size_t cache_limit) {
  return std::make_shared<PinnedAllocator>(std::move(io), cache_limit);
}

}  // namespace ty
