#include "storage/shard/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>
#include <vector>

namespace ty {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? kPoly : 0);
    t[i] = c;
  }
  return t;
}

uint32_t crc_table(uint32_t crc, const uint8_t* p, size_t n) {
  static const std::array<uint32_t, 256> table = make_table();
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

// The CRC register after `len` zero bytes, as a table per register byte: the register
// update is linear over GF(2), so shifting a register is the XOR of the shifts of its bits.
class ZeroShift {
 public:
  explicit ZeroShift(size_t len) {
    const std::vector<uint8_t> zeros(len, 0);
    uint32_t bit[32];
    for (int i = 0; i < 32; ++i) bit[i] = crc_table(uint32_t{1} << i, zeros.data(), len);
    for (int k = 0; k < 4; ++k)
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int i = 0; i < 8; ++i)
          if (b & (1u << i)) v ^= bit[8 * k + i];
        table_[k][b] = v;
      }
  }
  uint32_t operator()(uint32_t crc) const {
    return table_[0][crc & 0xff] ^ table_[1][(crc >> 8) & 0xff] ^ table_[2][(crc >> 16) & 0xff] ^ table_[3][crc >> 24];
  }

 private:
  uint32_t table_[4][256];
};

__attribute__((target("sse4.2"))) uint64_t crc_words(uint64_t c, const uint8_t* p, size_t words) {
  for (size_t i = 0; i < words; ++i) {
    uint64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    c = _mm_crc32_u64(c, v);
  }
  return c;
}

// Three independent streams over consecutive blocks of `block` bytes hide the instruction's
// 3-cycle latency; the block CRCs are then joined: crc(A B) = shift_|B|(crc(A)) ^ crc(B).
template <size_t kBlock>
__attribute__((target("sse4.2"))) uint64_t crc_three_streams(uint64_t c, const uint8_t*& p, size_t& n) {
  static const ZeroShift shift(kBlock);
  while (n >= 3 * kBlock) {
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t v0, v1, v2;
      std::memcpy(&v0, p + i, 8);
      std::memcpy(&v1, p + kBlock + i, 8);
      std::memcpy(&v2, p + 2 * kBlock + i, 8);
      c0 = _mm_crc32_u64(c0, v0);
      c1 = _mm_crc32_u64(c1, v1);
      c2 = _mm_crc32_u64(c2, v2);
    }
    c = shift(shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^ static_cast<uint32_t>(c2);
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t crc_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  c = crc_three_streams<4096>(c, p, n);
  c = crc_three_streams<256>(c, p, n);
  c = crc_three_streams<64>(c, p, n);
  c = crc_words(c, p, n / 8);
  p += n / 8 * 8;
  n %= 8;
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}

}  // namespace

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  static const bool hw = __builtin_cpu_supports("sse4.2");
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  crc = hw ? crc_sse42(crc, p, n) : crc_table(crc, p, n);
  return ~crc;
}

}  // namespace ty
