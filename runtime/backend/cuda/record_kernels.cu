// The record kernels (record_kernels.h).
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/record_kernels.h"

namespace ty::cuda {
namespace {

struct RecordPointers {
  const uint8_t* at[kRecordsPerLaunch];
};

constexpr int kWarpsPerBlock = 4;

// One warp a record: each lane the CRC of its segment, lane 0 joins them in order.
__global__ void check_kernel(const Crc32cTables* __restrict__ tables, RecordPointers records, int n,
                             RecordLayout layout, uint8_t* __restrict__ flags) {
  __shared__ Crc32cTables t;
  for (int i = threadIdx.x; i < 256; i += blockDim.x) t.byte[i] = tables->byte[i];
  for (int i = threadIdx.x; i < 32; i += blockDim.x) t.x2n[i] = tables->x2n[i];
  __syncthreads();
  const int lane = threadIdx.x % 32;
  const int r = blockIdx.x * kWarpsPerBlock + threadIdx.x / 32;
  if (r >= n) return;  // whole warps leave together
  const uint8_t* rec = records.at[r];
  uint32_t crc = 0;
  int64_t begin = 0, end = 0;
  if (layout.has_crc) {
    crc32c_segment(layout.payload_bytes, 32, lane, begin, end);
    crc = crc32c_bytes(t, rec + begin, end - begin);
  }
  uint32_t whole = crc;
  for (int l = 1; l < 32; ++l) {
    const uint32_t part = __shfl_sync(0xFFFFFFFFu, crc, l);
    const int64_t len = __shfl_sync(0xFFFFFFFFu, end - begin, l);
    if (lane == 0) whole = crc32c_combine(t, whole, part, len);
  }
  if (lane == 0) flags[r] = record_flags(rec, layout, whole);
}

// blockIdx.y: the record; threads stride over its x elements.
__global__ void decode_kernel(RecordPointers records, RecordLayout layout, char* __restrict__ x,
                              uint8_t* __restrict__ y) {
  const int r = blockIdx.y;
  char* x_row = x + static_cast<int64_t>(r) * layout.x_out_bytes();
  uint8_t* y_row = y + static_cast<int64_t>(r) * layout.y_bytes;
  for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < layout.x_count;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x)
    decode_record_part(records.at[r], layout, k, k + 1, x_row, y_row);
  if (layout.x_count == 0 && blockIdx.x == 0 && threadIdx.x == 0)
    decode_record_part(records.at[r], layout, 0, 0, x_row, y_row);
}

RecordPointers pointers(const uint8_t* const* records, int64_t first, int count) {
  RecordPointers p{};
  for (int i = 0; i < count; ++i) p.at[i] = records[first + i];
  return p;
}

}  // namespace

void check_records(cudaStream_t s, const Crc32cTables* tables, const uint8_t* const* records, int64_t n,
                   const RecordLayout& layout, uint8_t* flags) {
  for (int64_t first = 0; first < n; first += kRecordsPerLaunch) {
    const int count = static_cast<int>(n - first < kRecordsPerLaunch ? n - first : kRecordsPerLaunch);
    check_kernel<<<(count + kWarpsPerBlock - 1) / kWarpsPerBlock, 32 * kWarpsPerBlock, 0, s>>>(
        tables, pointers(records, first, count), count, layout, flags + first);
    check_launch("check_records");
  }
}

void decode_records(cudaStream_t s, const uint8_t* const* records, int64_t n, const RecordLayout& layout, void* x,
                    void* y) {
  const int64_t per_record = (layout.x_count + 255) / 256;
  const unsigned blocks_x = static_cast<unsigned>(per_record < 1 ? 1 : per_record > 64 ? 64 : per_record);
  for (int64_t first = 0; first < n; first += kRecordsPerLaunch) {
    const int count = static_cast<int>(n - first < kRecordsPerLaunch ? n - first : kRecordsPerLaunch);
    decode_kernel<<<dim3(blocks_x, count), 256, 0, s>>>(pointers(records, first, count), layout,
                                                        static_cast<char*>(x) + first * layout.x_out_bytes(),
                                                        static_cast<uint8_t*>(y) + first * layout.y_bytes);
    check_launch("decode_records");
  }
}

}  // namespace ty::cuda
