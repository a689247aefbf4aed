// Checkpoints under an object-store prefix (s3://bucket/prefix), the protocol of
// checkpoint.h without renames, which a store does not have:
//  1. Rank r uploads step-<S>/rank-<r>.bin (multipart when large), then step-<S>/rank-<r>.bin.sum
//     with its size, CRC32C and this launch's nonce.
//  2. Rank 0 waits (bounded) for the W sidecars of this launch, checks each file's size
//     against the listing, and uploads step-<S>/MANIFEST last: the commit marker.
//  3. Retention deletes the oldest committed checkpoints beyond `keep`, each MANIFEST first
//     (a half-deleted one is torn, never mistaken for complete).
// A failed upload fails the save and leaves the previous checkpoint as it was. Reading
// verifies every file named by the MANIFEST (size and CRC32C) before it is chosen.
#pragma once

#include "storage/checkpoint.h"

namespace ty::object_checkpoints {

absl::Status write(const std::string& dir, int64_t step, int rank, int world, const NamedTensors& tensors,
                   std::chrono::milliseconds wait_for_ranks, uint64_t run_nonce);
void remove_partial(const std::string& dir);
void prune(const std::string& dir, int keep);
FoundCheckpoint find_latest(const std::string& dir, VerifyShare share, int64_t at_most);

}  // namespace ty::object_checkpoints
