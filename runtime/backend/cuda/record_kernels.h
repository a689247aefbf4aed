// The record kernels of the GPU data path (runtime/device_io.h): checks (CRC32C, one warp a
// record, its lanes' CRCs combined; label bounds) and decoding into a batch's rows, over
// records anywhere in device memory. Their reference is record_codec.h's host code, which
// they share. A batch goes in launches of kRecordsPerLaunch records, their pointers passed
// as kernel parameters (no device array to stage).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/record_codec.h"

namespace ty::cuda {

constexpr int kRecordsPerLaunch = 384;

// flags[i] = record_flags(records[i]); `tables` in device memory.
void check_records(cudaStream_t s, const Crc32cTables* tables, const uint8_t* const* records, int64_t n,
                   const RecordLayout& layout, uint8_t* flags);
// Rows i of x and y from records[i].
void decode_records(cudaStream_t s, const uint8_t* const* records, int64_t n, const RecordLayout& layout, void* x,
                    void* y);

}  // namespace ty::cuda
