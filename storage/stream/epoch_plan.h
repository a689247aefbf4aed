// EpochPlan: the order in which one epoch visits the records of a set of shards, from
// (seed, epoch) alone — the same on every rank, for any number of ranks, after a resume:
//   1. the shards are permuted (Philox(seed, epoch), stream "shards");
//   2. their records, concatenated in that order, are cut into windows of `window`
//      consecutive records (the last window may be shorter);
//   3. each window's records are permuted (Philox(seed, epoch), stream "window w").
// Position p of the epoch is record at(p). A window is a contiguous byte range of one or
// two shards, so a loader reads it with large sequential reads; the window size trades
// shuffle quality for loader memory (storage.shuffle_window_mb).
#pragma once

#include <cstdint>
#include <vector>

namespace ty {

struct RecordRef {
  int shard = 0;       // index into the shard list (file order)
  int64_t record = 0;  // record number within that shard
  bool operator==(const RecordRef&) const = default;
};

class EpochPlan {
 public:
  EpochPlan(std::vector<int64_t> shard_records, int64_t window, uint64_t seed, int64_t epoch);

  int64_t size() const { return total_; }
  int64_t window() const { return window_; }
  int64_t windows() const { return total_ == 0 ? 0 : (total_ + window_ - 1) / window_; }
  // Shards in visiting order.
  const std::vector<int>& shard_order() const { return order_; }
  // The record at `position` (0 <= position < size()). Keeps the last window's
  // permutation, so walking positions in order is cheap; not thread-safe.
  RecordRef at(int64_t position) const;
  // The positions of window `w`, ordered by where their records lie in the shard-ordered
  // concatenation (file order within each shard): reading them in this order is sequential.
  std::vector<int64_t> window_in_file_order(int64_t w) const;
  // The record that visiting position `stream_position` of the unshuffled concatenation
  // (shard order applied, windows not yet permuted) lands on.
  RecordRef unshuffled(int64_t stream_position) const;

 private:
  std::vector<int64_t> records_;  // per shard, file order
  std::vector<int> order_;
  std::vector<int64_t> starts_;  // start of order_[i] in the concatenation
  int64_t window_, total_ = 0;
  uint64_t seed_;
  int64_t epoch_;
  const std::vector<int64_t>& window_perm(int64_t w) const;  // position offset -> stream offset
  mutable int64_t cached_window_ = -1;
  mutable std::vector<int64_t> cached_perm_;
};

}  // namespace ty
