// DeviceIo: a loader's own way onto a GPU (storage/gpu_direct/: the device data path).
// Page-locked host memory; device buffers; a copy stream of its own that carries
// host-to-device copies and the records' checks (CRC32C and label bounds,
// record_codec.h); and the decoding of records into a batch's tensors on the compute
// stream, ordered after the copies by an event. The compute stream never waits for the
// host, and the host waits for the device only where it asks (wait()).
//
// open_cuda_device_io (backend/cuda/cuda_device_io.cc) drives a GPU. host_device_io() runs
// the same record code on the host, with host memory standing in for the device's and every
// call finished on return: it is the kernels' CPU reference, and how the loaders above it
// are tested on machines without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "runtime/allocator.h"
#include "runtime/dtype.h"
#include "runtime/record_codec.h"

namespace ty {

class DeviceIo {
 public:
  // A point in one stream's work, reached once everything queued before it has run;
  // null is a point already reached.
  using Marker = std::shared_ptr<void>;
  virtual ~DeviceIo() = default;
  // Where its device memory is (the host for host_device_io()).
  virtual Device device() const = 0;

  // Errors (kResourceExhausted) name the size and the memory.
  virtual absl::StatusOr<void*> alloc_pinned(size_t bytes) = 0;
  virtual void free_pinned(void* p) = 0;
  virtual absl::StatusOr<void*> alloc_device(size_t bytes) = 0;
  // Only once the work that uses `p` has been waited for.
  virtual void free_device(void* p) = 0;

  // Queued on the copy stream, in call order. `pinned` from alloc_pinned, `device` and
  // `records` device memory; `records` itself is a host array, read before the call returns.
  virtual absl::Status copy_to_device(void* device, const void* pinned, size_t bytes) = 0;
  virtual absl::Status copy_to_host(void* pinned, const void* device, size_t bytes) = 0;
  // flags[i] (device memory) = record_flags() of the record at records[i].
  virtual absl::Status check_records(const uint8_t* const* records, int64_t n, const RecordLayout& layout,
                                     uint8_t* flags) = 0;
  virtual absl::StatusOr<Marker> mark_copies() = 0;

  // Queued on the compute stream after `after` (a copy stream marker, or null): row i of
  // `x` (layout.x_out_bytes() a row) and `y` (layout.y_bytes a row), device memory, decoded
  // from records[i].
  virtual absl::Status decode_records(const Marker& after, const uint8_t* const* records, int64_t n,
                                      const RecordLayout& layout, void* x, void* y) = 0;
  virtual absl::StatusOr<Marker> mark_compute() = 0;

  virtual bool reached(const Marker& m) = 0;
  virtual absl::Status wait(const Marker& m) = 0;
};

// Device `index`'s DeviceIo, decoding on `compute_stream` (a cudaStream_t: the Context's);
// an error names the CUDA call. A build without CUDA says so.
absl::StatusOr<std::shared_ptr<DeviceIo>> open_cuda_device_io(int index, void* compute_stream);
std::shared_ptr<DeviceIo> host_device_io();

// Page-locked host memory from `io` for tensors (a loader's batch memory when its batches
// go to the device by DMA), freed blocks cached by size up to `cache_limit` bytes.
std::shared_ptr<Allocator> pinned_memory(std::shared_ptr<DeviceIo> io, size_t cache_limit);

}  // namespace ty
