// A stand-in for NVIDIA's libcufile.so.0 (the ABI of storage/gpu_direct/cufile_api.h), built
// by the tests so that every path of trainyard's GPUDirect code runs without a GPU: "device"
// buffers are host memory and reads are pread(2). CUFILE_STUB (read at each call) picks a
// failure: no_driver, compat (nvidia-fs version 0.0), props_fail, register_fails, buf_fails,
// short_reads (4 KiB at most per call), io_error (-5044), errno_eio (-1, EIO), zero_read,
// flip_once (the process's first read arrives with its first byte's low bit flipped).
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

extern "C" {

typedef struct { int err; int cu_err; } CUfileError_t;
typedef struct {
  int type;
  union { int fd; void* handle; } handle;
  const void* fs_ops;
} CUfileDescr_t;
typedef struct {
  struct {
    unsigned int major_version, minor_version;
    size_t poll_thresh_size, max_direct_io_size;
    unsigned int dstatusflags, dcontrolflags;
  } nvfs;
  unsigned int fflags, max_device_cache_size, per_buffer_cache_size, max_device_pinned_mem_size, max_batch_io_size,
      max_batch_io_timeout_msecs;
} CUfileDrvProps_t;

static int mode(const char* m) {
  const char* v = getenv("CUFILE_STUB");
  return v != nullptr && strcmp(v, m) == 0;
}
static CUfileError_t result(int err) {
  CUfileError_t e = {err, 0};
  return e;
}

CUfileError_t cuFileDriverOpen(void) { return result(mode("no_driver") ? 5001 : 0); }
CUfileError_t cuFileDriverClose_v2(void) { return result(0); }
CUfileError_t cuFileDriverGetProperties(CUfileDrvProps_t* p) {
  memset(p, 0, sizeof *p);
  if (mode("props_fail")) return result(5002);
  if (!mode("compat")) {
    p->nvfs.major_version = 2;
    p->nvfs.minor_version = 17;
  }
  return result(0);
}
CUfileError_t cuFileHandleRegister(void** fh, CUfileDescr_t* d) {
  if (mode("register_fails")) return result(5008);
  if (d->type != 1) return result(5022);
  // cuFile takes unaligned reads too (it bounces them): pread without O_DIRECT here.
  fcntl(d->handle.fd, F_SETFL, fcntl(d->handle.fd, F_GETFL) & ~O_DIRECT);
  *fh = reinterpret_cast<void*>(static_cast<long>(d->handle.fd + 1));
  return result(0);
}
void cuFileHandleDeregister(void* fh) { (void)fh; }
CUfileError_t cuFileBufRegister(const void* p, size_t n, int flags) {
  (void)p;
  (void)n;
  (void)flags;
  return result(mode("buf_fails") ? 5011 : 0);
}
CUfileError_t cuFileBufDeregister(const void* p) {
  (void)p;
  return result(0);
}
ssize_t cuFileRead(void* fh, void* buf, size_t size, off_t file_offset, off_t buf_offset) {
  const int fd = static_cast<int>(reinterpret_cast<long>(fh)) - 1;
  if (mode("io_error")) return -5044;
  if (mode("errno_eio")) {
    errno = EIO;
    return -1;
  }
  if (mode("zero_read")) return 0;
  if (mode("short_reads") && size > 4096) size = 4096;
  const ssize_t got = pread(fd, static_cast<char*>(buf) + buf_offset, size, file_offset);
  static int reads = 0;
  if (mode("flip_once") && reads++ == 0 && got > 0) static_cast<char*>(buf)[buf_offset] ^= 1;
  return got;
}

}  // extern "C"
