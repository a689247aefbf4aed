// Checkpoints: a directory per checkpoint under a checkpoints directory (checkpoint.dir,
// default RUN_DIR/checkpoints), local or an object-store prefix s3://bucket/prefix.
//
// Protocol on a file system (every rank r of W, for step S):
//  1. Rank r writes rank-<r>.bin (a weights file: named tensors, CRC-checked; written to a
//     temporary name, fsynced, renamed) into step-<S>.partial/, then rank-<r>.bin.sum with
//     its size, CRC32C and this launch's nonce.
//  2. Rank 0 then waits (bounded) until all W sidecars of this launch exist, and writes
//     MANIFEST — every file with its size and CRC32C — to a temporary name, fsyncs it,
//     renames it and fsyncs the directory. The manifest is the commit marker.
//  3. Rank 0 renames step-<S>.partial to step-<S> and fsyncs checkpoints/.
//  4. Retention then removes the oldest complete checkpoints beyond `keep`; the newest
//     complete one is never removed before a newer one has committed.
// On an object store (checkpoint_object.h) the same steps without renames: the rank files
// and their sidecars go straight to step-<S>/, and MANIFEST, uploaded last, is the commit
// marker; a step-<S>/ without one is torn.
// A reader takes the newest step-<S> whose MANIFEST verifies (sizes and CRCs); a torn or
// corrupt one is reported and skipped.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace ty {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Steps 1-3 for one rank; rank 0 waits at most `wait_for_ranks` for the others' files.
// `run_nonce` (the same on all ranks of one launch) marks each rank's sidecar, so that rank
// 0 never trusts a file left in a step-N.partial by an earlier, crashed launch.
absl::Status write_checkpoint(const std::string& dir, int64_t step, int rank, int world,
                              const NamedTensors& tensors, std::chrono::milliseconds wait_for_ranks,
                              uint64_t run_nonce);

// `dir` below: the checkpoints directory (or s3:// prefix) itself.
// Removes every step-N.partial (rank 0, before anyone saves in this launch).
void remove_partial_checkpoints(const std::string& dir);

// Step 4: keeps the `keep` newest complete checkpoints (at least one).
void prune_checkpoints(const std::string& dir, int keep);

struct FoundCheckpoint {
  std::string dir;
  int64_t step = -1;
  int world = 0;
  std::vector<std::string> skipped;  // torn or corrupt ones passed over, with the reason
  // Not OK when the checkpoints could not be read (a store that keeps failing, access
  // denied): the run must not guess and start over.
  absl::Status error;
};

// Which rank files a search reads to verify their CRC32C: file i where i % ranks == rank;
// the others it checks by size alone. The default reads every file. The ranks of a resume
// each take their share and agree on the verdict (worker/trainer's resume), so each file is
// read once, by one rank, instead of once by every rank.
struct VerifyShare {
  int rank = 0, ranks = 1;
  bool reads(int file) const { return file % ranks == rank; }
};

// The newest checkpoint at or below step `at_most` whose manifest verifies (every rank
// file there at its size; `share`'s files at their CRC32C too); step -1 when there is none.
FoundCheckpoint find_latest_checkpoint(const std::string& dir, VerifyShare share = {},
                                       int64_t at_most = std::numeric_limits<int64_t>::max());

// The tensors of one rank's file (rank clamped to the checkpoint's world size).
absl::StatusOr<std::map<std::string, Tensor>> load_checkpoint_rank(const FoundCheckpoint& ckpt, int rank);

}  // namespace ty
