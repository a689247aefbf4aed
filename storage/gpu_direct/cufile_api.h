// cuFile (NVIDIA GPUDirect Storage), loaded at run time like cuBLAS: the few types and entry
// points trainyard uses, declared here from the library's C ABI (cufile.h is not part of
// the CUDA toolkit on these machines), and the library opened with dlopen().
//
// The library: TRAINYARD_CUFILE_LIBRARY (a path; the tests' stub, tests/support/cufile_stub.c),
// else libcufile.so.0, else libcufile.so (PyTorch's and NVIDIA's wheels ship it as
// nvidia/cufile/lib/libcufile.so.0; put that directory on LD_LIBRARY_PATH).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace ty {

// CUfileOpError: 0 success, else CUFILEOP_BASE_ERR (5000) + n.
enum CuFileOpError : int {
  kCuFileSuccess = 0,
  kCuFileDriverNotInitialized = 5001,  // nvidia-fs is not loaded (and compat mode is not allowed)
  kCuFileDriverInvalidProps = 5002,
  kCuFilePlatformNotSupported = 5007,
  kCuFileIoNotSupported = 5008,
  kCuFileDeviceNotSupported = 5009,
  kCuFileNvfsDriverError = 5010,
  kCuFileCudaDriverError = 5011,
  kCuFileInvalidValue = 5022,
  kCuFileMemoryAlreadyRegistered = 5023,
  kCuFileMemoryNotRegistered = 5024,
  kCuFilePermissionDenied = 5025,
  kCuFileHandleNotRegistered = 5027,
  kCuFileIoError = 5044,
};

struct CuFileError {  // CUfileError_t, returned by value
  int err;            // CuFileOpError
  int cu_err;         // CUresult
};

struct CuFileDescr {  // CUfileDescr_t
  int type;           // 1: CU_FILE_HANDLE_TYPE_OPAQUE_FD
  union {
    int fd;
    void* handle;
  } handle;
  const void* fs_ops;  // null
};
static_assert(sizeof(CuFileDescr) == 24, "CUfileDescr_t is 24 bytes on LP64");

struct CuFileDriverProps {  // CUfileDrvProps_t
  struct {
    unsigned int major_version, minor_version;  // 0.0: nvidia-fs is not loaded
    size_t poll_thresh_size, max_direct_io_size;
    unsigned int dstatusflags, dcontrolflags;
  } nvfs;
  unsigned int fflags, max_device_cache_size, per_buffer_cache_size, max_device_pinned_mem_size, max_batch_io_size,
      max_batch_io_timeout_msecs;
};
static_assert(sizeof(CuFileDriverProps) == 56, "CUfileDrvProps_t is 56 bytes on LP64");

using CuFileHandle = void*;

struct CuFileApi {
  CuFileError (*driver_open)();
  CuFileError (*driver_close)();  // cuFileDriverClose_v2 where there is one
  CuFileError (*driver_get_properties)(CuFileDriverProps*);
  CuFileError (*handle_register)(CuFileHandle*, CuFileDescr*);
  void (*handle_deregister)(CuFileHandle);
  CuFileError (*buf_register)(const void*, size_t, int);
  CuFileError (*buf_deregister)(const void*);
  // Bytes read (short at end of file); -1 with errno; -CuFileOpError.
  ssize_t (*read)(CuFileHandle, void*, size_t, off_t, off_t);
  std::string library;  // what was opened
};

// The process's cuFile, opened once; null with `why` (every library tried) when none opens
// or one lacks an entry point.
const CuFileApi* cufile_api(std::string* why);

// "CU_FILE_DRIVER_NOT_INITIALIZED (5001: nvidia-fs is not loaded)" and the like.
std::string cufile_error_name(int err);

}  // namespace ty
