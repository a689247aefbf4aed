// CRC32C (Castagnoli), as used for every shard record and index: the SSE4.2 instruction
// where the CPU has it, a table otherwise. crc32c(data, n) == crc32c_extend(0, data, n).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ty {

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }

}  // namespace ty
