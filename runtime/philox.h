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

// A position in a Philox sequence that hands out disjoint ranges to consumers in order
// (dropout calls, shuffles). Its state is one integer, saved with checkpoints.
class RngStream {
 public:
  RngStream(uint64_t seed, uint64_t stream) : philox_(seed, stream) {}
  // Reserves `n` numbers and returns the index of the first.
  uint64_t take(uint64_t n) {
    uint64_t first = offset_;
    offset_ += (n + 3) / 4 * 4;
    return first;
  }
  const Philox& philox() const { return philox_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t o) { offset_ = o; }

 private:
  Philox philox_;
  uint64_t offset_ = 0;
};

}  // namespace ty
