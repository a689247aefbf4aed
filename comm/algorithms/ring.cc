#include "comm/algorithms/ring.h"

#include "comm/algorithms/reduce.h"
#include "comm/scale.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "runtime/status.h"

namespace ty::ring {
namespace {

// Chunk i of n elements split W ways: [begin, end).
struct Chunks {
  int64_t n;
  int w;
  int64_t begin(int i) const { return n * i / w; }
  int64_t end(int i) const { return n * (i + 1) / w; }
  int64_t size(int i) const { return end(i) - begin(i); }
};

int mod(int a, int w) { return ((a % w) + w) % w; }

// memcpy that accepts empty ranges with null pointers (zero-size tensors).
void copy_bytes(void* dst, const void* src, size_t n) {
  if (n > 0) std::memcpy(dst, src, n);
}

// The reduce-scatter half of the ring: afterwards rank r holds the full reduction of
// chunk (r + 1) mod W.
absl::Status ring_reduce_scatter(Transport& t, char* base, const Chunks& c, DType dt, ReduceOp op, int tag,
                                 Deadline deadline, Scratch& scratch) {
  const int w = t.size(), r = t.rank();
  const size_t es = dtype_size(dt);
  // A piece holds whole elements.
  const size_t piece = std::max<size_t>(es, kPieceBytes / es * es);
  for (int step = 0; step < w - 1; ++step) {
    const int send_chunk = mod(r - step, w), recv_chunk = mod(r - step - 1, w);
    char* incoming = scratch.get(c.size(recv_chunk) * es);
    char* target = base + c.begin(recv_chunk) * es;
    TY_RETURN_IF_ERROR(t.sendrecv_pieces(
        mod(r + 1, w), base + c.begin(send_chunk) * es, c.size(send_chunk) * es, mod(r - 1, w), incoming,
        c.size(recv_chunk) * es, piece, tag, deadline, [&](size_t off, size_t bytes) {
          reduce_bytes(dt, target + off, incoming + off, static_cast<int64_t>(bytes / es), op);
        }));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status allreduce(Transport& t, Tensor buf, ReduceOp op, int tag, Deadline deadline, Scratch& scratch) {
  const int w = t.size(), r = t.rank();
  if (w > 1) {
    const Chunks c{buf.numel(), w};
    char* base = static_cast<char*>(buf.raw());
    const size_t es = dtype_size(buf.dtype());
    TY_RETURN_IF_ERROR(ring_reduce_scatter(t, base, c, buf.dtype(), op, tag, deadline, scratch));
    for (int step = 0; step < w - 1; ++step) {
      const int send_chunk = mod(r + 1 - step, w), recv_chunk = mod(r - step, w);
      TY_RETURN_IF_ERROR(t.sendrecv(mod(r + 1, w), base + c.begin(send_chunk) * es, c.size(send_chunk) * es,
                                    mod(r - 1, w), base + c.begin(recv_chunk) * es, c.size(recv_chunk) * es, tag,
                                    deadline));
    }
  }
  if (op == ReduceOp::kAvg) scale_in_place(buf, 1.0 / w);
  return absl::OkStatus();
}

absl::Status allgather(Transport& t, const Tensor& in, Tensor out, int tag, Deadline deadline) {
  const int w = t.size(), r = t.rank();
  const size_t block = in.nbytes();
  char* base = static_cast<char*>(out.raw());
  copy_bytes(base + r * block, in.raw(), block);
  for (int step = 0; step < w - 1; ++step) {
    const int send_block = mod(r - step, w), recv_block = mod(r - step - 1, w);
    TY_RETURN_IF_ERROR(t.sendrecv(mod(r + 1, w), base + send_block * block, block, mod(r - 1, w),
                                  base + recv_block * block, block, tag, deadline));
  }
  return absl::OkStatus();
}

absl::Status reduce_scatter(Transport& t, const Tensor& in, Tensor out, ReduceOp op, int tag, Deadline deadline,
                            Scratch& scratch) {
  const int w = t.size(), r = t.rank();
  const Tensor& work = in;
  const int64_t block = out.numel();
  // The ring leaves rank r holding chunk r + 1, so chunk i carries block i - 1.
  const size_t es = dtype_size(in.dtype());
  std::vector<char> rotated(work.nbytes());
  for (int i = 0; i < w; ++i)
    copy_bytes(rotated.data() + i * block * es, static_cast<char*>(work.raw()) + mod(i - 1, w) * block * es,
               block * es);
  TY_RETURN_IF_ERROR(
      ring_reduce_scatter(t, rotated.data(), Chunks{block * w, w}, in.dtype(), op, tag, deadline, scratch));
  copy_bytes(out.raw(), rotated.data() + mod(r + 1, w) * block * es, block * es);
  if (op == ReduceOp::kAvg) scale_in_place(out, 1.0 / w);
  return absl::OkStatus();
}

absl::Status broadcast(Transport& t, Tensor buf, int root, int tag, Deadline deadline) {
  if (t.rank() == root) {
    for (int dst = 0; dst < t.size(); ++dst)
      if (dst != root) TY_RETURN_IF_ERROR(t.send(dst, tag, buf.raw(), buf.nbytes(), deadline));
    return absl::OkStatus();
  }
  return t.recv(root, tag, buf.raw(), buf.nbytes(), deadline);
}

absl::Status barrier(Transport& t, int tag, Deadline deadline, Scratch& scratch) {
  Tensor one = Tensor::empty(host_memory(), {1}, DType::kF32);
  one.fill(1);
  return allreduce(t, one, ReduceOp::kSum, tag, deadline, scratch);
}

}  // namespace ty::ring
