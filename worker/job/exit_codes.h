// Exit codes by class, for every command. Daemons decide retries from them, so each
// failure maps to one class through its absl::Status code:
//   0 success
//   1 anything else (a bug, a diverged loss)                   kInternal, kUnknown, ...
//   2 the user's fault: usage, spec, data                      kInvalidArgument, kNotFound,
//                                                              kFailedPrecondition, kOutOfRange,
//                                                              kAlreadyExists, kPermissionDenied,
//                                                              kDataLoss (a corrupt data file)
//   3 retryable infrastructure failure: peer lost, collective  kUnavailable, kDeadlineExceeded,
//     timeout, MPI/NCCL init, I/O error on shared storage      kAborted
//   4 out of memory on the host or a GPU                       kResourceExhausted
//   5 canceled (by the coordinator or a user)                  kCancelled
// Signals that stop a run after saving a checkpoint exit 128 + the signal (143 SIGTERM,
// 130 SIGINT), as shells expect.
#pragma once

#include "absl/status/status.h"

namespace ty {

enum class ExitCode : int {
  kSuccess = 0,
  kFailed = 1,
  kUserError = 2,
  kRetryable = 3,
  kOutOfMemory = 4,
  kCanceled = 5,
};

ExitCode exit_code_for(const absl::Status& st);

}  // namespace ty
