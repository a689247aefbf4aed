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

std::vector<int64_t> DistributedSampler::local_batch(int64_t step) const {
  CHECK_EQ(static_cast<int64_t>(perm_.size()), n_) << "local_batch() before begin_epoch()";
  CHECK(step >= 0 && step < steps_) << "step " << step << " of " << steps_;
  const int64_t start = step * batch_;
  int64_t m = std::min(batch_, n_ - start);
  if (remainder_ == Remainder::kPad) m = batch_;
  const int64_t share = m / world_;
  std::vector<int64_t> out(share);
  for (int64_t i = 0; i < share; ++i) out[i] = perm_[(start + rank_ * share + i) % n_];
  return out;
}

}  // namespace ty
