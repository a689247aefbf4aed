#include "runtime/philox.h"

#include "runtime/philox_math.h"

#include <cmath>

namespace ty {
std::array<uint32_t, 4> Philox::block(uint64_t c) const {
  std::array<uint32_t, 4> out;
  philox4x32_10(c, stream_, seed_, out.data());
  return out;
}

float Philox::uniform(uint64_t i) const { return philox_unit_float(u32(i)); }

double Philox::normal(uint64_t i) const {
  auto b = block(i / 2);
  uint32_t a = b[(i % 2) * 2], c = b[(i % 2) * 2 + 1];
  double u1 = (static_cast<double>(a) + 1.0) / 4294967297.0;  // (0, 1]
  double u2 = static_cast<double>(c) / 4294967296.0;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace ty
