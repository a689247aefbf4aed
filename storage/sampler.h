// Sample order: a permutation of [0, n) per epoch drawn from Philox(seed, epoch), so the
// order depends only on (seed, epoch) and survives restarts.
#pragma once

#include <cstdint>
#include <vector>

namespace ty {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace ty
