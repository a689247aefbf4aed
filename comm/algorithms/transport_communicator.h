// TransportCommunicator: a Communicator whose collectives are algorithms over a Transport
// (ring.h, recursive_doubling.h), run in submission order on an op queue — the part the
// in-process and UCX backends share (gloo's algorithms over transports). Allreduce takes
// recursive doubling up to kLatencyBoundBytes (latency-bound: log2 W messages) and the
// pipelined ring above (bandwidth-bound: 2 (W-1)/W of the buffer per rank). A backend
// gives the transport and, for split(), the transport of a sub-group.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "comm/algorithms/scratch.h"
#include "comm/communicator.h"
#include "comm/op_queue.h"
#include "comm/transport.h"

namespace ty {

class TransportCommunicator : public Communicator {
 public:
  static constexpr size_t kLatencyBoundBytes = size_t{64} << 10;
  TransportCommunicator(std::unique_ptr<Transport> transport, CommOptions options, std::string backend,
                        std::string group);
  int rank() const override { return transport_->rank(); }
  int size() const override { return transport_->size(); }
  std::string backend() const override { return backend_; }
  std::string group() const override { return group_; }

 protected:
  TY_COMMUNICATOR_BACKEND_OPS
  absl::Status do_allreduce_now(Tensor t, ReduceOp op) override;
  // The communicator of the sub-group made by split number `split` for `color`: `members`
  // are its ranks in this group, in their order there; `rank` is this rank's place.
  virtual std::unique_ptr<Communicator> make_child(int split, int color, const std::vector<int>& members, int rank) = 0;
  const CommOptions& options() const { return options_; }

 private:
  // Collectives take consecutive negative tags; user send/recv tags are >= 0.
  int next_tag() { return -1 - collective_count_++; }
  // Runs on the queue thread (or inline), like every collective.
  absl::Status run_allreduce(Tensor t, ReduceOp op, int tag, OpQueue::Clock::time_point deadline);
  std::unique_ptr<Transport> transport_;
  CommOptions options_;
  std::string backend_, group_;
  int collective_count_ = 0;
  int split_count_ = 0;
  Scratch scratch_;  // used by one op at a time: ops run one after another
  OpQueue queue_;  // last: its thread stops before the transport goes
};

}  // namespace ty
