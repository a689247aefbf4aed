// Transport: ordered, tagged point-to-point messages between the ranks of a group — the
// small interface collective algorithms (comm/algorithms) are written against, as gloo's
// are over its tcp/ibverbs transports.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>

#include "absl/status/status.h"

namespace ty {

class Transport {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sends `bytes` to `dst`. A transport may wait for the receiver to take large messages
  // (UCX's rendezvous), bounded by `deadline`.
  virtual absl::Status send(int dst, int tag, const void* data, size_t bytes, Clock::time_point deadline) = 0;
  // Waits for the next message from `src` with `tag` (exactly `bytes` long) until
  // `deadline`; the error names the peer it waited for.
  virtual absl::Status recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) = 0;
  // Sends to `dst` and receives from `src` (one step of a ring). A transport whose send waits
  // for its receiver posts the receive first; the default sends, then receives.
  virtual absl::Status sendrecv(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                                size_t recv_bytes, int tag, Clock::time_point deadline) {
    if (absl::Status st = send(dst, tag, send_data, send_bytes, deadline); !st.ok()) return st;
    return recv(src, tag, recv_data, recv_bytes, deadline);
  }
  // Called with (offset, bytes) of each received piece, in order, as it lands.
  using OnPiece = std::function<void(size_t offset, size_t bytes)>;
  // The number of messages sendrecv_pieces uses for `bytes` (one for an empty buffer).
  static size_t piece_count(size_t bytes, size_t piece) { return bytes == 0 ? 1 : (bytes + piece - 1) / piece; }
  // sendrecv in pieces of `piece` bytes (the same on both sides of each pair): a transport
  // that keeps several messages in flight calls `on_piece` for piece i while later pieces
  // are still moving, so that work on received data (a reduction) overlaps the transfer and
  // finds it still in cache. The default moves one piece each way at a time.
  virtual absl::Status sendrecv_pieces(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                                       size_t recv_bytes, size_t piece, int tag, Clock::time_point deadline,
                                       const OnPiece& on_piece) {
    const size_t ns = piece_count(send_bytes, piece), nr = piece_count(recv_bytes, piece);
    for (size_t i = 0; i < std::max(ns, nr); ++i) {
      const size_t off = i * piece;
      const size_t s = i < ns ? std::min(piece, send_bytes - std::min(off, send_bytes)) : 0;
      const size_t r = i < nr ? std::min(piece, recv_bytes - std::min(off, recv_bytes)) : 0;
      const char* out = static_cast<const char*>(send_data) + (s ? off : 0);
      char* in = static_cast<char*>(recv_data) + (r ? off : 0);
      absl::Status st = i < ns && i < nr ? sendrecv(dst, out, s, src, in, r, tag, deadline)
                        : i < ns        ? send(dst, tag, out, s, deadline)
                                        : recv(src, tag, in, r, deadline);
      if (!st.ok()) return st;
      if (i < nr && r > 0) on_piece(off, r);
    }
    return absl::OkStatus();
  }
};

}  // namespace ty
