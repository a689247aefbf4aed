#include "worker/job/exit_codes.h"

namespace ty {

ExitCode exit_code_for(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kOk: return ExitCode::kSuccess;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kDataLoss:  // a corrupt or truncated data file
      return ExitCode::kUserError;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted: return ExitCode::kRetryable;
    case absl::StatusCode::kResourceExhausted: return ExitCode::kOutOfMemory;
    case absl::StatusCode::kCancelled: return ExitCode::kCanceled;
    default: return ExitCode::kFailed;
  }
}

}  // namespace ty
