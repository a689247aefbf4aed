#include "comm/algorithms/transport_communicator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "comm/algorithms/recursive_doubling.h"
#include "comm/algorithms/ring.h"

namespace ty {

TransportCommunicator::TransportCommunicator(std::unique_ptr<Transport> transport, CommOptions o, std::string backend,
                                             std::string group)
    : transport_(std::move(transport)),
      options_(o),
      backend_(std::move(backend)),
      group_(std::move(group)),
      queue_(absl::StrCat(group_, " (rank ", transport_->rank(), " of ", transport_->size(), ", ", backend_, ")"),
             o.timeout) {}

absl::Status TransportCommunicator::run_allreduce(Tensor t, ReduceOp op, int tag, OpQueue::Clock::time_point deadline) {
  if (t.nbytes() <= kLatencyBoundBytes)
    return recursive_doubling::allreduce(*transport_, t, op, tag, deadline, scratch_);
  return ring::allreduce(*transport_, t, op, tag, deadline, scratch_);
}

CommHandlePtr TransportCommunicator::do_allreduce(Tensor t, ReduceOp op) {
  const int tag = next_tag();
  return queue_.submit("allreduce", [this, t, op, tag](OpQueue::Clock::time_point d) {
    return run_allreduce(t, op, tag, d);
  });
}

absl::Status TransportCommunicator::do_allreduce_now(Tensor t, ReduceOp op) {
  const int tag = next_tag();
  return queue_.run_now("allreduce",
                        [this, t, op, tag](OpQueue::Clock::time_point d) { return run_allreduce(t, op, tag, d); });
}

CommHandlePtr TransportCommunicator::do_broadcast(Tensor t, int root) {
  const int tag = next_tag();
  return queue_.submit("broadcast", [this, t, root, tag](OpQueue::Clock::time_point d) {
    return ring::broadcast(*transport_, t, root, tag, d);
  });
}

CommHandlePtr TransportCommunicator::do_allgather(Tensor in, Tensor out) {
  const int tag = next_tag();
  return queue_.submit("allgather", [this, in, out, tag](OpQueue::Clock::time_point d) {
    return ring::allgather(*transport_, in, out, tag, d);
  });
}

CommHandlePtr TransportCommunicator::do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  const int tag = next_tag();
  return queue_.submit("reduce_scatter", [this, in, out, op, tag](OpQueue::Clock::time_point d) {
    return ring::reduce_scatter(*transport_, in, out, op, tag, d, scratch_);
  });
}

CommHandlePtr TransportCommunicator::do_barrier() {
  const int tag = next_tag();
  return queue_.submit("barrier",
                       [this, tag](OpQueue::Clock::time_point d) { return ring::barrier(*transport_, tag, d, scratch_); });
}

CommHandlePtr TransportCommunicator::do_send(Tensor t, int dst, int tag) {
  return queue_.submit("send", [this, t, dst, tag](OpQueue::Clock::time_point d) {
    return transport_->send(dst, tag, t.raw(), t.nbytes(), d);
  });
}

CommHandlePtr TransportCommunicator::do_recv(Tensor t, int src, int tag) {
  return queue_.submit("recv", [this, t, src, tag](OpQueue::Clock::time_point d) {
    return transport_->recv(src, tag, t.raw(), t.nbytes(), d);
  });
}

absl::StatusOr<std::unique_ptr<Communicator>> TransportCommunicator::do_split(int color, int key) {
  const int tag = next_tag(), split = split_count_++;  // the same on every rank: collectives run in order
  Tensor mine = Tensor::empty(host_memory(), {2}, DType::kI32),
         all = Tensor::empty(host_memory(), {2 * size()}, DType::kI32);
  mine.data<int32_t>()[0] = color;
  mine.data<int32_t>()[1] = key;
  absl::Status st = queue_.run_now("split", [this, mine, all, tag](OpQueue::Clock::time_point d) {
    return ring::allgather(*transport_, mine, all, tag, d);
  });
  if (!st.ok()) return st;
  if (color == kNoGroup) return std::unique_ptr<Communicator>();
  std::vector<std::pair<int, int>> keyed;  // (key, old rank) of this color
  for (int r = 0; r < size(); ++r)
    if (all.data<int32_t>()[2 * r] == color) keyed.emplace_back(all.data<int32_t>()[2 * r + 1], r);
  std::sort(keyed.begin(), keyed.end());
  std::vector<int> members;
  int new_rank = 0;
  for (const auto& [k, r] : keyed) {
    if (r == rank()) new_rank = static_cast<int>(members.size());
    members.push_back(r);
  }
  return make_child(split, color, members, new_rank);
}

}  // namespace ty
