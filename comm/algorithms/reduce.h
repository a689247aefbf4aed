// The element-wise reduction collectives apply to received data: dst = dst (op) src.
#pragma once

#include <cstdint>

#include "comm/communicator.h"

namespace ty {

// `op` kSum and kAvg add (kAvg is scaled afterwards), kMax takes the larger; f32 and f64.
// With `src_first`, dst = src (op) dst: two ranks that combine each other's data then
// compute the same expression, bit for bit even where the operation is not symmetric in
// its operands (max of +0 and -0, NaN payloads).
void reduce_bytes(DType dt, void* dst, const void* src, int64_t n, ReduceOp op, bool src_first = false);

}  // namespace ty
