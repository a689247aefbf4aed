// Fixed-size records as shards hold them (storage/FORMAT.md: the fields' bytes, then a u32
// CRC32C of them), checked and decoded by the same code on the host and in the CUDA kernels
// (backend/cuda/record_kernels.cu): the host loop is the kernels' reference. Used by the GPU
// data path (runtime/device_io.h), where records reach device memory undecoded.
//
// CRC32C here is table-driven (a kernel has no SSE4.2) and splittable: a record's bytes may
// be cut into segments whose CRCs are computed apart (one per GPU lane) and joined with
// crc32c_combine, which gives the CRC of the whole — the same value as storage/shard/crc32c.h.
#pragma once

#include <cstdint>
#include <cstring>

#include "runtime/host_device.h"

namespace ty {

// What a record holds and what a batch row becomes: x (u8 features scaled by 1/255, f32
// features, or i32 token ids copied) and y (labels or targets, copied byte for byte).
struct RecordLayout {
  int64_t payload_bytes = 0;  // the fields' bytes; the CRC32C follows when has_crc
  bool has_crc = true;
  int64_t x_offset = 0, x_count = 0;  // bytes into the record; elements
  uint8_t x_kind = 0;                 // kX* below
  int64_t y_offset = 0, y_bytes = 0;
  // i32 labels at y_offset checked to lie in [0, label_bound) (0 labels: no check).
  int64_t label_count = 0, label_bound = 0;
  // f32 output x = x * scale + shift after the u8 1/255 (standardization); off: plain.
  bool affine = false;
  float scale = 1.f, shift = 0.f;
  static constexpr uint8_t kXU8 = 0, kXF32 = 1, kXI32 = 2;
  TY_HD int64_t record_bytes() const { return payload_bytes + (has_crc ? 4 : 0); }
  TY_HD int64_t x_out_bytes() const { return x_count * 4; }  // f32 or i32 per element
};

// Flags check_record sets (0: the record is good).
constexpr uint8_t kRecordBadCrc = 1, kRecordBadLabel = 2;

// The tables the CRC code reads: 256 entries for bytes, 32 for powers x^(2^k) mod P.
struct Crc32cTables {
  uint32_t byte[256];
  uint32_t x2n[32];
};

constexpr uint32_t kCrc32cPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// a(x) * b(x) mod P(x), reflected (bit 31 is x^0).
TY_HD inline uint32_t crc32c_multmodp(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (int i = 0; i < 32; ++i) {
    if (a & m) p ^= b;
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kCrc32cPoly : b >> 1;
  }
  return p;
}

inline void fill_crc32c_tables(Crc32cTables& t) {
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kCrc32cPoly : c >> 1;
    t.byte[i] = c;
  }
  uint32_t p = 1u << 30;  // x^1
  for (int k = 0; k < 32; ++k) {
    t.x2n[k] = p;
    p = crc32c_multmodp(p, p);
  }
}

// The CRC32C of `n` bytes at `p` (crc32c_extend(0, p, n) of storage/shard/crc32c.h).
TY_HD inline uint32_t crc32c_bytes(const Crc32cTables& t, const uint8_t* p, int64_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (int64_t i = 0; i < n; ++i) c = t.byte[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

// The CRC of A then B from crc(A), crc(B) and B's length.
TY_HD inline uint32_t crc32c_combine(const Crc32cTables& t, uint32_t crc_a, uint32_t crc_b, int64_t len_b) {
  uint32_t p = 1u << 31;  // x^0
  uint64_t n = static_cast<uint64_t>(len_b);
  for (int k = 3; n != 0; n >>= 1, ++k)  // x^(8 n): bit j of n contributes x^(2^(j+3))
    if (n & 1) p = crc32c_multmodp(t.x2n[k & 31], p);
  return crc32c_multmodp(p, crc_a) ^ crc_b;
}

// Lane `lane` of `lanes`'s share of `n` bytes: [begin, end).
TY_HD inline void crc32c_segment(int64_t n, int lanes, int lane, int64_t& begin, int64_t& end) {
  const int64_t per = (n + lanes - 1) / lanes;
  begin = per * lane < n ? per * lane : n;
  end = begin + per < n ? begin + per : n;
}

TY_HD inline uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// The flags of a record whose payload CRC is `crc` (computed whole or combined from lanes).
TY_HD inline uint8_t record_flags(const uint8_t* rec, const RecordLayout& l, uint32_t crc) {
  uint8_t flags = 0;
  if (l.has_crc && crc != load_u32(rec + l.payload_bytes)) flags |= kRecordBadCrc;
  for (int64_t k = 0; k < l.label_count; ++k) {
    const int32_t label = static_cast<int32_t>(load_u32(rec + l.y_offset + 4 * k));
    if (label < 0 || label >= l.label_bound) flags |= kRecordBadLabel;
  }
  return flags;
}

// x * a + b rounded after each operation, as the host computes it (nvcc would fuse it into
// one FMA, one rounding: a batch decoded on the GPU would differ from the host's in the last bit).
TY_HD inline float mul_add_unfused(float x, float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(__fmul_rn(x, a), b);
#else
  return x * a + b;
#endif
}

// Elements [begin, end) of x and, from the thread with begin == 0, all of y, of one record
// into its batch rows `x` (x_out_bytes) and `y` (y_bytes).
TY_HD inline void decode_record_part(const uint8_t* rec, const RecordLayout& l, int64_t begin, int64_t end, void* x,
                                     uint8_t* y) {
  const uint8_t* src = rec + l.x_offset;
  if (l.x_kind == RecordLayout::kXU8) {
    float* out = static_cast<float*>(x);
    const float a = l.affine ? l.scale * (1.0f / 255.0f) : 1.0f / 255.0f;
    for (int64_t k = begin; k < end; ++k)
      out[k] = l.affine ? mul_add_unfused(static_cast<float>(src[k]), a, l.shift) : static_cast<float>(src[k]) * a;
  } else {  // f32 or i32: 4 bytes an element, little-endian like the host
    uint32_t* out = static_cast<uint32_t*>(x);
    for (int64_t k = begin; k < end; ++k) {
      const uint32_t bits = load_u32(src + 4 * k);
      if (l.affine && l.x_kind == RecordLayout::kXF32) {
        float v;
        memcpy(&v, &bits, 4);
        v = mul_add_unfused(v, l.scale, l.shift);
        memcpy(&out[k], &v, 4);
      } else {
        out[k] = bits;
      }
    }
  }
  if (begin == 0)
    for (int64_t k = 0; k < l.y_bytes; ++k) y[k] = rec[l.y_offset + k];
}

}  // namespace ty
