// Transport: ordered, tagged point-to-point messages between the ranks of a group — the
// small interface collective algorithms (comm/algorithms) are written against, as gloo's
// are over its tcp/ibverbs transports.
#pragma once

#include <chrono>
#include <cstddef>

#include "absl/status/status.h"

namespace ty {

class Transport {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Queues `bytes` for `dst`; does not wait for the receiver.
  virtual absl::Status send(int dst, int tag, const void* data, size_t bytes) = 0;
  // Waits for the next message from `src` with `tag` (exactly `bytes` long) until
  // `deadline`; the error names the peer it waited for.
  virtual absl::Status recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) = 0;
  // Sends to `dst` and receives from `src` (one step of a ring). A transport whose send waits
  // for its receiver posts the receive first; the default sends, then receives.
  virtual absl::Status sendrecv(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                                size_t recv_bytes, int tag, Clock::time_point deadline) {
    if (absl::Status st = send(dst, tag, send_data, send_bytes); !st.ok()) return st;
    return recv(src, tag, recv_data, recv_bytes, deadline);
  }
};

}  // namespace ty
