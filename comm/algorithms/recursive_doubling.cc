#include "comm/algorithms/recursive_doubling.h"

#include "comm/algorithms/reduce.h"
#include "comm/scale.h"
#include "runtime/status.h"

namespace ty::recursive_doubling {

absl::Status allreduce(Transport& t, Tensor buf, ReduceOp op, int tag, Transport::Clock::time_point deadline,
                       Scratch& scratch) {
  const int w = t.size(), r = t.rank();
  const size_t bytes = buf.nbytes();
  char* data = static_cast<char*>(buf.raw());
  int p = 1;  // the largest power of two <= w
  while (p * 2 <= w) p *= 2;
  const int extra = w - p;
  if (w > 1 && bytes > 0) {
    char* in = scratch.get(bytes);
    // Fold: rank 2i hands its data to 2i + 1 for i < extra.
    int vr = r - extra;  // this rank's place among the p that exchange; -1 sits out
    if (r < 2 * extra) {
      if (r % 2 == 0) {
        TY_RETURN_IF_ERROR(t.send(r + 1, tag, data, bytes, deadline));
        vr = -1;
      } else {
        TY_RETURN_IF_ERROR(t.recv(r - 1, tag, in, bytes, deadline));
        reduce_bytes(buf.dtype(), data, in, buf.numel(), op);
        vr = r / 2;
      }
    }
    if (vr >= 0) {
      for (int mask = 1; mask < p; mask <<= 1) {
        const int vpeer = vr ^ mask;
        const int peer = vpeer < extra ? 2 * vpeer + 1 : vpeer + extra;
        TY_RETURN_IF_ERROR(t.sendrecv(peer, data, bytes, peer, in, bytes, tag, deadline));
        // Lower place's data first on both partners: the same expression, the same bits.
        reduce_bytes(buf.dtype(), data, in, buf.numel(), op, /*src_first=*/vpeer < vr);
      }
    }
    // Unfold: the result goes back to the ranks that sat out.
    if (r < 2 * extra) {
      if (r % 2 == 0)
        TY_RETURN_IF_ERROR(t.recv(r + 1, tag, data, bytes, deadline));
      else
        TY_RETURN_IF_ERROR(t.send(r - 1, tag, data, bytes, deadline));
    }
  }
  if (op == ReduceOp::kAvg) scale_in_place(buf, 1.0 / w);
  return absl::OkStatus();
}

}  // namespace ty::recursive_doubling
