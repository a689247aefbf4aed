// Arrivals for a run's world (comm/arrivals.h): a store in RUN_DIR/.arrivals/<nonce>, a
// fresh nonce per attempt agreed by the ranks, used when every rank sees the directory (a
// shared file system, or one host). Elsewhere timeouts name only the waiting rank.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "comm/communicator.h"

namespace ty {

// Collective: every rank of `comm` calls it. Rank 0 (the run directory's lock holder)
// removes earlier attempts' stores. OK also when the directory is not shared (then no
// arrivals are set, as for a run directory on an object store); errors only from the collectives.
absl::Status share_arrivals(Communicator& comm, const std::string& run_dir, std::chrono::milliseconds timeout);

}  // namespace ty
