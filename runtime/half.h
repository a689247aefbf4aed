// 16-bit floating point on the host: bf16 (the top half of an f32, rounded to nearest even)
// and IEEE f16, stored as uint16_t bits. Device kernels use CUDA's own conversions, which
// round the same way.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace ty {

inline uint16_t bf16_from_float(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

inline float float_from_bf16(uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f16_from_float(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000;
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7e00);
  const float a = std::fabs(f);
  if (a >= 65520.f) return static_cast<uint16_t>(sign | 0x7c00);  // overflow: infinity
  if (a < 6.103515625e-05f) {                                     // subnormal (or zero)
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.f)));
  }
  uint32_t mant = u & 0x7fffff;
  int32_t exp = static_cast<int32_t>((u >> 23) & 0xff) - 127 + 15;
  // Round the 23-bit mantissa to 10 bits, nearest even.
  const uint32_t rest = mant & 0x1fff, half = 0x1000;
  mant >>= 13;
  if (rest > half || (rest == half && (mant & 1))) {
    if (++mant == 0x400) {
      mant = 0;
      ++exp;
    }
  }
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | mant);
}

inline float float_from_f16(uint16_t h) {
  const uint32_t sign = (h & 0x8000) ? 1 : 0, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(static_cast<float>(mant), -24);
  } else if (exp == 31) {
    v = mant ? NAN : INFINITY;
  } else {
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -v : v;
}

}  // namespace ty
