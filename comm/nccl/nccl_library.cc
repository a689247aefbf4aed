#include "comm/nccl/nccl_library.h"

#include <dlfcn.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/backend/cuda/dynamic_library.h"

namespace ty {
namespace {

template <class F>
bool resolve(void* lib, const char* name, F& out, std::string& error) {
  return resolve_symbol(lib, name, out, error, "NCCL", "NCCL 2.14 or newer is needed");
}

}  // namespace

absl::StatusOr<const NcclLibrary*> NcclLibrary::get() {
  static NcclLibrary lib;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    void* h = open_first_library({"libnccl.so.2", "libnccl.so"}, &tried);
    if (h == nullptr) {
      error =
          absl::StrCat("NCCL not found (", tried,
                       "); put libnccl.so.2 on LD_LIBRARY_PATH (/usr/local/cuda/lib64, or PyTorch's nvidia/nccl/lib)");
      return;
    }
    resolve(h, "ncclGetUniqueId", lib.get_unique_id, error) &&
        resolve(h, "ncclCommInitRankConfig", lib.init_rank_config, error) &&
        resolve(h, "ncclCommDestroy", lib.destroy, error) && resolve(h, "ncclCommAbort", lib.abort, error) &&
        resolve(h, "ncclCommGetAsyncError", lib.async_error, error) &&
        resolve(h, "ncclGetErrorString", lib.error_string, error) &&
        resolve(h, "ncclAllReduce", lib.all_reduce, error) && resolve(h, "ncclBroadcast", lib.broadcast, error) &&
        resolve(h, "ncclAllGather", lib.all_gather, error) &&
        resolve(h, "ncclReduceScatter", lib.reduce_scatter, error) && resolve(h, "ncclSend", lib.send, error) &&
        resolve(h, "ncclRecv", lib.recv, error) && resolve(h, "ncclCommCount", lib.count, error) &&
        resolve(h, "ncclCommUserRank", lib.user_rank, error);
    lib.comm_split = reinterpret_cast<decltype(lib.comm_split)>(dlsym(h, "ncclCommSplit"));
  });
  if (!error.empty()) return absl::FailedPreconditionError(error);
  return &lib;
}

absl::Status NcclLibrary::check(ncclResult_t r, const char* call, const std::string& op) const {
  if (r == ncclSuccess || r == ncclInProgress) return absl::OkStatus();
  // An NCCL failure is the fabric's or a peer's: retryable (exit class 3).
  return absl::UnavailableError(absl::StrCat(call, " failed in ", op, ": ", error_string(r)));
}

}  // namespace ty
