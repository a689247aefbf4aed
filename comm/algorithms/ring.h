// Ring collectives over a Transport (any world size, including non-powers of two):
// allreduce = reduce-scatter + allgather around the ring, each rank sending and receiving
// 2 (W-1)/W of the buffer — bandwidth-optimal, for large buffers; each reduce-scatter step
// moves its chunk in pieces (Transport::sendrecv_pieces) and reduces each piece as it
// lands, so the reduction overlaps the transfer. Broadcast from the root; barrier as a
// 1-element allreduce. `tag` separates concurrent collectives; every rank passes the same
// tag for the same call. `scratch` is receive space reused across calls.
#pragma once

#include "comm/algorithms/scratch.h"
#include "comm/communicator.h"
#include "comm/transport.h"

namespace ty::ring {

using Deadline = Transport::Clock::time_point;

// The piece a reduce-scatter step moves at a time: big enough that per-message costs
// vanish, small enough that a received piece is still in cache when it is reduced.
inline constexpr size_t kPieceBytes = size_t{256} << 10;

absl::Status allreduce(Transport& t, Tensor buf, ReduceOp op, int tag, Deadline deadline, Scratch& scratch);
// out: size() blocks of in.numel(); rank r's `in` lands in block r.
absl::Status allgather(Transport& t, const Tensor& in, Tensor out, int tag, Deadline deadline);
// in: size() blocks of out.numel(); rank r receives the reduction of block r.
absl::Status reduce_scatter(Transport& t, const Tensor& in, Tensor out, ReduceOp op, int tag, Deadline deadline,
                            Scratch& scratch);
absl::Status broadcast(Transport& t, Tensor buf, int root, int tag, Deadline deadline);
absl::Status barrier(Transport& t, int tag, Deadline deadline, Scratch& scratch);

}  // namespace ty::ring
