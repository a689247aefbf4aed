#include "storage/distributed_sampler.h"

#include "glog/logging.h"
#include "storage/sampler.h"

namespace ty {

DistributedSampler::DistributedSampler(int64_t n, uint64_t seed, int rank, int world, int64_t global_batch,
                                       Remainder remainder)
    : n_(n), seed_(seed), rank_(rank), world_(world), batch_(global_batch), remainder_(remainder) {
  CHECK(world >= 1 && rank >= 0 && rank < world) << "rank " << rank << " of " << world;
  CHECK(global_batch >= world && global_batch % world == 0)
      << "global batch " << global_batch << " over " << world << " ranks";
  const int64_t full = n / batch_, rest = n % batch_;
  switch (remainder_) {
    case Remainder::kDrop: steps_ = full; break;
    case Remainder::kPad: steps_ = full + (rest > 0 && n > 0 ? 1 : 0); break;
    case Remainder::kPartial: steps_ = full + (rest >= world ? 1 : 0); break;
  }
}

void DistributedSampler::begin_epoch(int64_t epoch) { perm_ = epoch_permutation(n_, seed_, epoch); }

BatchShare DistributedSampler::share(int64_t step, int rank) const {
  CHECK(step >= 0 && step < steps_) << "step " << step << " of " << steps_;
  const int64_t start = step * batch_;
  const int64_t m = remainder_ == Remainder::kPad ? batch_ : std::min(batch_, n_ - start);
  const int64_t count = m / world_;
  return BatchShare{start + rank * count, count};
}

int DistributedSampler::owner(int64_t position) const {
  const int64_t step = position / batch_;
  if (position < 0 || step >= steps_) return -1;
  const int64_t count = share(step, 0).count, offset = position - step * batch_;
  return offset < count * world_ ? static_cast<int>(offset / count) : -1;
}

std::vector<int64_t> DistributedSampler::local_batch(int64_t step) const {
  CHECK_EQ(static_cast<int64_t>(perm_.size()), n_) << "local_batch() before begin_epoch()";
  const BatchShare s = share(step, rank_);
  std::vector<int64_t> out(s.count);
  for (int64_t i = 0; i < s.count; ++i) out[i] = perm_[(s.first + i) % n_];
  return out;
}

}  // namespace ty
