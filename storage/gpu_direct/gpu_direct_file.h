// GPUDirect Storage through cuFile (cufile_api.h): whether the direct path is live for a
// shard, and reads of its 4 KiB-aligned chunk runs straight into registered device memory.
//
// "Live" means all of: the library opens, cuFileDriverOpen succeeds, the driver's nvidia-fs
// version is not 0.0 (0.0: nvidia-fs is not loaded and cuFile would run in compatibility
// mode, POSIX reads through a bounce buffer — no faster than trainyard's own staged path),
// the file opens with O_DIRECT and cuFileHandleRegister takes it. Each failure is a reason
// naming the step, the library and cuFile's error, for `storage.gpu_direct: on` to report
// and `auto` to log before it takes the staged path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "storage/gpu_direct/cufile_api.h"

namespace ty {

// The process's cuFile driver, opened once and closed at exit; an error (kFailedPrecondition)
// says why the direct path is not live on this host.
absl::StatusOr<const CuFileApi*> open_gpu_direct_driver();

// `bytes` of device memory at `device` registered for cuFile reads, deregistered on destruction.
class GpuDirectBuffer {
 public:
  static absl::StatusOr<std::unique_ptr<GpuDirectBuffer>> register_memory(void* device, size_t bytes);
  ~GpuDirectBuffer();
  void* data() const { return device_; }
  size_t size() const { return bytes_; }

 private:
  GpuDirectBuffer(const CuFileApi* api, void* device, size_t bytes) : api_(api), device_(device), bytes_(bytes) {}
  const CuFileApi* api_;
  void* device_;
  size_t bytes_;
};

class GpuDirectFile {
 public:
  // Opens `path` with O_DIRECT and registers it; kFailedPrecondition says why the direct path
  // is not live for it (a filesystem without O_DIRECT, a handle cuFile refuses).
  static absl::StatusOr<std::unique_ptr<GpuDirectFile>> open(const std::string& path);
  ~GpuDirectFile();
  const std::string& path() const { return path_; }
  int64_t size() const { return size_; }

  // Bytes [offset, offset + length) of the file into `buffer` at `buffer_offset`; offset
  // and length multiples of 4 KiB except that the range may end at the end of the file.
  // Short reads are continued; a range past the end is kDataLoss naming the file and offset;
  // an I/O error is kUnavailable naming cuFile's error or errno.
  absl::Status read(int64_t offset, int64_t length, const GpuDirectBuffer& buffer, int64_t buffer_offset) const;

 private:
  GpuDirectFile() = default;
  const CuFileApi* api_ = nullptr;
  std::string path_;
  int fd_ = -1;
  CuFileHandle handle_ = nullptr;
  int64_t size_ = 0;
};

}  // namespace ty
