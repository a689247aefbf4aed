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
};

}  // namespace ty
