#include "storage/sampler.h"

#include <array>
#include <numeric>
#include <utility>

#include "runtime/philox.h"

namespace ty {

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  // Fisher-Yates with 64-bit draws (two 32-bit Philox outputs) reduced by multiply-shift.
  // One Philox block holds the draws of two consecutive steps: it is computed once.
  Philox rng(seed, (uint64_t{1} << 32) + static_cast<uint64_t>(epoch));
  uint64_t cached = ~uint64_t{0};
  std::array<uint32_t, 4> block{};
  auto u32 = [&](uint64_t k) {
    if (k / 4 != cached) {
      cached = k / 4;
      block = rng.block(cached);
    }
    return block[k % 4];
  };
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t hi = u32(2 * i), lo = u32(2 * i + 1);
    const uint64_t r = (hi << 32) | lo;
    const int64_t j = static_cast<int64_t>((static_cast<__uint128_t>(r) * (i + 1)) >> 64);
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace ty
