// Philox4x32-10 counter-based RNG: (seed, stream, counter) -> the same numbers on every
// backend and after a resume. Each counter value yields four 32-bit outputs.
#pragma once

#include <array>
#include <cstdint>

namespace ty {

class Philox {
 public:
  Philox(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}

  // Four raw 32-bit numbers for counter `c`.
  std::array<uint32_t, 4> block(uint64_t c) const;
  // The i-th uniform number in [0, 1) of this (seed, stream): 24 random bits.
  float uniform(uint64_t i) const;
  // The i-th standard normal (Box-Muller over a pair of uniforms).
  double normal(uint64_t i) const;
  // The i-th raw 32-bit number.
  uint32_t u32(uint64_t i) const { return block(i / 4)[i % 4]; }

  uint64_t seed() const { return seed_; }
  uint64_t stream() const { return stream_; }

 private:
  uint64_t seed_;
  uint64_t stream_;
};

// The stream of dropout layer `layer` (its index among the model's dropout layers) at
// optimizer step `step` (below 2^48): apart from the other streams drawn from the seed
// (parameter init, sample order), which stay below 2^48.
inline uint64_t dropout_stream(uint64_t layer, uint64_t step) {
  return ((layer + 1) << 48) | (step & ((uint64_t{1} << 48) - 1));
}

}  // namespace ty
