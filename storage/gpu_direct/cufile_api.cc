#include "storage/gpu_direct/cufile_api.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {

template <class F>
bool resolve(void* lib, const char* name, F& out, std::string* why) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (out == nullptr) *why = absl::StrCat(why->empty() ? "" : "; ", "the library has no ", name);
  return out != nullptr;
}

}  // namespace

const CuFileApi* cufile_api(std::string* why) {
  static std::once_flag once;
  static CuFileApi api;
  static const CuFileApi* loaded = nullptr;
  static std::string error;
  std::call_once(once, [] {
    std::vector<std::string> names;
    if (const char* path = std::getenv("TRAINYARD_CUFILE_LIBRARY"); path != nullptr && *path != '\0')
      names.emplace_back(path);
    names.emplace_back("libcufile.so.0");
    names.emplace_back("libcufile.so");
    void* lib = nullptr;
    for (const std::string& name : names) {
      lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib != nullptr) {
        api.library = name;
        break;
      }
      absl::StrAppend(&error, error.empty() ? "" : "; ", dlerror());
    }
    if (lib == nullptr) return;
    error.clear();
    bool ok = resolve(lib, "cuFileDriverOpen", api.driver_open, &error);
    api.driver_close = reinterpret_cast<CuFileError (*)()>(dlsym(lib, "cuFileDriverClose_v2"));
    if (api.driver_close == nullptr) ok = resolve(lib, "cuFileDriverClose", api.driver_close, &error) && ok;
    ok = resolve(lib, "cuFileDriverGetProperties", api.driver_get_properties, &error) && ok;
    ok = resolve(lib, "cuFileHandleRegister", api.handle_register, &error) && ok;
    ok = resolve(lib, "cuFileHandleDeregister", api.handle_deregister, &error) && ok;
    ok = resolve(lib, "cuFileBufRegister", api.buf_register, &error) && ok;
    ok = resolve(lib, "cuFileBufDeregister", api.buf_deregister, &error) && ok;
    ok = resolve(lib, "cuFileRead", api.read, &error) && ok;
    if (ok) loaded = &api;
    else error = absl::StrCat(api.library, ": ", error);
  });
  if (loaded == nullptr && why != nullptr) *why = error;
  return loaded;
}

std::string cufile_error_name(int err) {
  switch (err) {
    case kCuFileSuccess: return "CU_FILE_SUCCESS";
    case kCuFileDriverNotInitialized: return "CU_FILE_DRIVER_NOT_INITIALIZED (5001: nvidia-fs is not loaded)";
    case kCuFileDriverInvalidProps: return "CU_FILE_DRIVER_INVALID_PROPS (5002)";
    case kCuFilePlatformNotSupported: return "CU_FILE_PLATFORM_NOT_SUPPORTED (5007)";
    case kCuFileIoNotSupported: return "CU_FILE_IO_NOT_SUPPORTED (5008: this filesystem has no GPUDirect path)";
    case kCuFileDeviceNotSupported: return "CU_FILE_DEVICE_NOT_SUPPORTED (5009)";
    case kCuFileNvfsDriverError: return "CU_FILE_NVFS_DRIVER_ERROR (5010)";
    case kCuFileCudaDriverError: return "CU_FILE_CUDA_DRIVER_ERROR (5011)";
    case kCuFileInvalidValue: return "CU_FILE_INVALID_VALUE (5022)";
    case kCuFileMemoryAlreadyRegistered: return "CU_FILE_MEMORY_ALREADY_REGISTERED (5023)";
    case kCuFileMemoryNotRegistered: return "CU_FILE_MEMORY_NOT_REGISTERED (5024)";
    case kCuFilePermissionDenied: return "CU_FILE_PERMISSION_DENIED (5025)";
    case kCuFileHandleNotRegistered: return "CU_FILE_HANDLE_NOT_REGISTERED (5027)";
    case kCuFileIoError: return "CU_FILE_IO_ERROR (5044)";
    default: return absl::StrCat("cuFile error ", err);
  }
}

}  // namespace ty
