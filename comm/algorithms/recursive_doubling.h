// Recursive-doubling allreduce over a Transport: log2(W) exchanges of the whole buffer
// with partners at distance 1, 2, 4, ..., so a small message costs log2(W) latencies
// instead of the ring's 2 (W-1). Any world size: with W = 2^k + e, the first 2e ranks pair
// up and the even one of each pair hands its data to the odd one, sits out the exchanges
// and gets the result back (Rabenseifner's and MPICH's scheme). Partners combine their data
// in one order (the lower place's first), so every rank ends with the same bits.
#pragma once

#include "comm/algorithms/scratch.h"
#include "comm/communicator.h"
#include "comm/transport.h"

namespace ty::recursive_doubling {

absl::Status allreduce(Transport& t, Tensor buf, ReduceOp op, int tag, Transport::Clock::time_point deadline,
                       Scratch& scratch);

}  // namespace ty::recursive_doubling
