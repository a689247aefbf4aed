#include "storage/gpu_direct/gpu_direct_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

absl::Status not_live(const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat("GPUDirect Storage is not live: ", why));
}

}  // namespace

absl::StatusOr<const CuFileApi*> open_gpu_direct_driver() {
  static std::once_flag once;
  static absl::Status status;
  static const CuFileApi* api = nullptr;
  std::call_once(once, [] {
    std::string why;
    const CuFileApi* a = cufile_api(&why);
    if (a == nullptr) {
      status = not_live(absl::StrCat("cuFile cannot be loaded (", why,
                                     "); it ships in NVIDIA's nvidia-cufile wheels and the CUDA toolkit's gds package"));
      return;
    }
    const CuFileError opened = a->driver_open();
    if (opened.err != kCuFileSuccess) {
      status = not_live(absl::StrCat(a->library, ": cuFileDriverOpen failed: ", cufile_error_name(opened.err)));
      return;
    }
    CuFileDriverProps props{};
    const CuFileError got = a->driver_get_properties(&props);
    if (got.err != kCuFileSuccess) {
      status = not_live(absl::StrCat(a->library, ": cuFileDriverGetProperties failed: ", cufile_error_name(got.err)));
    } else if (props.nvfs.major_version == 0 && props.nvfs.minor_version == 0) {
      status = not_live(absl::StrCat(a->library,
                                     ": the nvidia-fs kernel module is not loaded, so cuFile would run in "
                                     "compatibility mode (POSIX reads through a bounce buffer)"));
    }
    if (!status.ok()) {
      a->driver_close();
      return;
    }
    api = a;
    std::atexit([] { api->driver_close(); });
  });
  if (!status.ok()) return status;
  return api;
}

absl::StatusOr<std::unique_ptr<GpuDirectBuffer>> GpuDirectBuffer::register_memory(void* device, size_t bytes) {
  auto api = open_gpu_direct_driver();
  if (!api.ok()) return api.status();
  const CuFileError r = (*api)->buf_register(device, bytes, 0);
  if (r.err != kCuFileSuccess)
    return not_live(absl::StrCat("cuFileBufRegister of ", bytes, " bytes of device memory failed: ",
                                 cufile_error_name(r.err)));
  return std::unique_ptr<GpuDirectBuffer>(new GpuDirectBuffer(*api, device, bytes));
}

GpuDirectBuffer::~GpuDirectBuffer() { api_->buf_deregister(device_); }

absl::StatusOr<std::unique_ptr<GpuDirectFile>> GpuDirectFile::open(const std::string& path) {
  auto api = open_gpu_direct_driver();
  if (!api.ok()) return api.status();
  std::unique_ptr<GpuDirectFile> f(new GpuDirectFile());
  f->api_ = *api;
  f->path_ = path;
  f->fd_ = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (f->fd_ < 0 && errno == EINVAL)
    return not_live(absl::StrCat(path, ": its filesystem does not support O_DIRECT (tmpfs?)"));
  if (f->fd_ < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  struct stat st;
  if (::fstat(f->fd_, &st) != 0) return absl::UnavailableError(absl::StrCat(path, ": cannot stat"));
  f->size_ = st.st_size;
  CuFileDescr descr{};
  descr.type = 1;  // CU_FILE_HANDLE_TYPE_OPAQUE_FD
  descr.handle.fd = f->fd_;
  const CuFileError r = f->api_->handle_register(&f->handle_, &descr);
  if (r.err != kCuFileSuccess) {
    f->handle_ = nullptr;
    return not_live(absl::StrCat(path, ": cuFileHandleRegister failed: ", cufile_error_name(r.err)));
  }
  return f;
}

GpuDirectFile::~GpuDirectFile() {
  if (handle_ != nullptr) api_->handle_deregister(handle_);
  if (fd_ >= 0) ::close(fd_);
}

absl::Status GpuDirectFile::read(int64_t offset, int64_t length, const GpuDirectBuffer& buffer,
                                 int64_t buffer_offset) const {
  if (offset < 0 || length < 0 || buffer_offset < 0 ||
      static_cast<size_t>(buffer_offset + length) > buffer.size())
    return absl::InvalidArgumentError(absl::StrCat(path_, ": read of ", length, " bytes at buffer offset ",
                                                   buffer_offset, " does not fit the ", buffer.size(),
                                                   "-byte buffer"));
  if (offset + length > size_)
    return absl::DataLossError(absl::StrCat(path_, ": bytes [", offset, ", ", offset + length,
                                            ") lie past its end (", size_, " bytes; truncated?)"));
  int64_t done = 0;
  while (done < length) {
    const ssize_t n = api_->read(handle_, buffer.data(), static_cast<size_t>(length - done), offset + done,
                                 buffer_offset + done);
    if (n == -1 && errno == EINTR) continue;
    if (n == -1)
      return absl::UnavailableError(absl::StrCat(path_, ": cuFileRead failed at byte offset ", offset + done, ": ",
                                                 std::strerror(errno)));
    if (n < 0)
      return absl::UnavailableError(absl::StrCat(path_, ": cuFileRead failed at byte offset ", offset + done, ": ",
                                                 -n > 5000 ? cufile_error_name(static_cast<int>(-n))
                                                           : std::string(std::strerror(static_cast<int>(-n)))));
    if (n == 0)  // the file shrank since open
      return absl::DataLossError(absl::StrCat(path_, ": truncated at byte offset ", offset + done,
                                              " (changed during the run?)"));
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace ty
