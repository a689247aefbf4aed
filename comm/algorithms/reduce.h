// The element-wise reduction collectives apply to received data: dst = dst (op) src.
#pragma once

#include <cstdint>

#include "comm/communicator.h"

namespace ty {

// `op` kSum and kAvg add (kAvg is scaled afterwards), kMax takes the larger; f32 and f64.
void reduce_bytes(DType dt, void* dst, const void* src, int64_t n, ReduceOp op);

}  // namespace ty
