#include "storage/sampler.h"

#include <numeric>
#include <utility>

#include "runtime/philox.h"

namespace ty {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  // Fisher-Yates with 64-bit draws (two 32-bit Philox outputs) reduced by multiply-shift.
  Philox rng(seed, (uint64_t{1} << 32) + static_cast<uint64_t>(epoch));
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t hi = rng.u32(2 * i), lo = rng.u32(2 * i + 1);
    const uint64_t r = (hi << 32) | lo;
    const int64_t j = static_cast<int64_t>((static_cast<__uint128_t>(r) * (i + 1)) >> 64);
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace ty
