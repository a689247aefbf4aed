#include "storage/stream/epoch_plan.h"

#include <algorithm>

#include "glog/logging.h"
#include "storage/sampler.h"

namespace ty {
namespace {
// Streams of the epoch_permutation() seed space kept apart from the in-memory sampler's.
constexpr uint64_t kShardOrderSalt = 0x5348415244000000ull;  // "SHARD"
constexpr uint64_t kWindowSalt = 0x57494e444f570000ull;      // "WINDOW"
}  // namespace

EpochPlan::EpochPlan(std::vector<int64_t> shard_records, int64_t window, uint64_t seed, int64_t epoch)
    : records_(std::move(shard_records)), window_(std::max<int64_t>(window, 1)), seed_(seed), epoch_(epoch) {
  const std::vector<int64_t> perm =
      epoch_permutation(static_cast<int64_t>(records_.size()), seed ^ kShardOrderSalt, epoch);
  for (int64_t s : perm) {
    order_.push_back(static_cast<int>(s));
    starts_.push_back(total_);
    total_ += records_[s];
  }
}

RecordRef EpochPlan::unshuffled(int64_t p) const {
  CHECK(p >= 0 && p < total_) << "position " << p << " of " << total_;
  const size_t i = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), p) - starts_.begin()) - 1;
  // Empty shards share their start with the next one; upper_bound lands past them.
  return RecordRef{order_[i], p - starts_[i]};
}

const std::vector<int64_t>& EpochPlan::window_perm(int64_t w) const {
  if (w != cached_window_) {
    const int64_t n = std::min(window_, total_ - w * window_);
    cached_perm_ = epoch_permutation(n, seed_ ^ (kWindowSalt + static_cast<uint64_t>(w)), epoch_);
    cached_window_ = w;
  }
  return cached_perm_;
}

RecordRef EpochPlan::at(int64_t p) const {
  CHECK(p >= 0 && p < total_) << "position " << p << " of " << total_;
  const int64_t w = p / window_;
  return unshuffled(w * window_ + window_perm(w)[p - w * window_]);
}

std::vector<int64_t> EpochPlan::window_in_file_order(int64_t w) const {
  CHECK(w >= 0 && w < windows()) << "window " << w << " of " << windows();
  const std::vector<int64_t>& perm = window_perm(w);
  std::vector<int64_t> out(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) out[perm[i]] = w * window_ + static_cast<int64_t>(i);
  return out;
}

}  // namespace ty
