#include "runtime/philox.h"

#include <cmath>

namespace ty {
namespace {
constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  uint64_t p = uint64_t{a} * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}
}  // namespace

std::array<uint32_t, 4> Philox::block(uint64_t c) const {
  uint32_t x0 = static_cast<uint32_t>(c), x1 = static_cast<uint32_t>(c >> 32);
  uint32_t x2 = static_cast<uint32_t>(stream_), x3 = static_cast<uint32_t>(stream_ >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed_), k1 = static_cast<uint32_t>(seed_ >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kM0, x0, hi0, lo0);
    mulhilo(kM1, x2, hi1, lo1);
    uint32_t y0 = hi1 ^ x1 ^ k0, y1 = lo1, y2 = hi0 ^ x3 ^ k1, y3 = lo0;
    x0 = y0; x1 = y1; x2 = y2; x3 = y3;
    k0 += kW0;
    k1 += kW1;
  }
  return {x0, x1, x2, x3};
}

float Philox::uniform(uint64_t i) const {
  return static_cast<float>(u32(i) >> 8) * (1.0f / 16777216.0f);
}

double Philox::normal(uint64_t i) const {
  auto b = block(i / 2);
  uint32_t a = b[(i % 2) * 2], c = b[(i % 2) * 2 + 1];
  double u1 = (static_cast<double>(a) + 1.0) / 4294967297.0;  // (0, 1]
  double u2 = static_cast<double>(c) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace ty
