// NCCL's entry points, loaded at run time (dlopen libnccl.so.2) so that a binary built with
// the CUDA backend starts on machines without NCCL; the NCCL communicator is then refused
// with an error saying where to put the library.
#pragma once

#include <nccl.h>

#include <string>

#include "absl/status/statusor.h"

namespace ty {

struct NcclLibrary {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRankConfig) init_rank_config = nullptr;
  decltype(&ncclCommDestroy) destroy = nullptr;
  decltype(&ncclCommAbort) abort = nullptr;
  decltype(&ncclCommGetAsyncError) async_error = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
  decltype(&ncclAllGather) all_gather = nullptr;
  decltype(&ncclReduceScatter) reduce_scatter = nullptr;
  decltype(&ncclSend) send = nullptr;
  decltype(&ncclRecv) recv = nullptr;
  decltype(&ncclCommCount) count = nullptr;
  decltype(&ncclCommUserRank) user_rank = nullptr;
  decltype(&ncclCommSplit) comm_split = nullptr;  // (optional) NCCL 2.18 or newer

  // The library, loaded once; or why it could not be.
  static absl::StatusOr<const NcclLibrary*> get();
  // OK, or an error naming the call, the op and NCCL's message.
  absl::Status check(ncclResult_t r, const char* call, const std::string& op) const;
};

}  // namespace ty
