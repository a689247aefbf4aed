// DistributedSampler: which samples each rank trains on, step by step. Per epoch one
// permutation of the dataset from (seed, epoch) — the same on every rank — is cut into
// global batches of `global_batch`; rank r of W takes the r-th of W equal shares of each.
// The sample order therefore does not depend on the world size: N ranks with local batch
// B/N see exactly the global batches one rank with batch B sees.
//
// The last, incomplete global batch of an epoch:
//   partial: kept, cut into W equal shares (up to W-1 samples are left out; none with W=1);
//   drop:    left out;
//   pad:     filled up to a full batch with samples from the start of the permutation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ty {

enum class Remainder { kPartial, kDrop, kPad };

// Rank `rank`'s share of one global batch: positions [first, first + count) of the epoch's
// order, taken modulo the dataset size (only kPad wraps around).
struct BatchShare {
  int64_t first = 0, count = 0;
};

class DistributedSampler {
 public:
  DistributedSampler(int64_t dataset_size, uint64_t seed, int rank, int world, int64_t global_batch,
                     Remainder remainder);
  int64_t steps_per_epoch() const { return steps_; }
  int64_t dataset_size() const { return n_; }
  int64_t global_batch() const { return batch_; }
  int world() const { return world_; }
  int rank() const { return rank_; }
  // Where `rank`'s samples of `step` lie in the epoch's order (no permutation needed).
  BatchShare share(int64_t step, int rank) const;
  // The rank whose share holds `position` of the epoch's order, or -1 for a position no
  // rank trains on (left out by kPartial or kDrop). Positions >= dataset_size() are
  // kPad's wrapped ones.
  int owner(int64_t position) const;
  // Draws the epoch's permutation; call before local_batch() for that epoch.
  void begin_epoch(int64_t epoch);
  // This rank's sample indices for `step` (0-based) of the current epoch.
  std::vector<int64_t> local_batch(int64_t step) const;

 private:
  int64_t n_;
  uint64_t seed_;
  int rank_, world_;
  int64_t batch_;
  Remainder remainder_;
  int64_t steps_;
  std::vector<int64_t> perm_;
};

}  // namespace ty
