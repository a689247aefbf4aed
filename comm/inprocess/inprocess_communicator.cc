#include "comm/inprocess/inprocess_communicator.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "comm/algorithms/ring.h"

namespace ty {

void InProcessHub::put(int src, int dst, int tag, std::vector<char> msg) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    boxes_[{src, dst, tag}].push_back(std::move(msg));
  }
  cv_.notify_all();
}

absl::Status InProcessHub::take(int src, int dst, int tag, void* data, size_t bytes,
                                Transport::Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  auto& box = boxes_[{src, dst, tag}];
  if (!cv_.wait_until(lock, deadline, [&] { return !box.empty(); }))
    return absl::DeadlineExceededError(
        absl::StrCat("rank ", dst, " waited for rank ", src, " (tag ", tag, ") past comm.timeout_s"));
  std::vector<char> msg = std::move(box.front());
  box.pop_front();
  if (msg.size() != bytes)
    return absl::InternalError(absl::StrCat("rank ", dst, " expected ", bytes, " bytes from rank ", src, ", got ",
                                            msg.size(), ": ranks called collectives in different orders or sizes"));
  if (bytes > 0) std::memcpy(data, msg.data(), bytes);  // empty messages have no buffer
  return absl::OkStatus();
}

std::shared_ptr<InProcessHub> InProcessHub::child(int split, int color, int size) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<InProcessHub>& hub = children_[{split, color}];
  if (!hub) hub = std::make_shared<InProcessHub>(size);
  return hub;
}

absl::Status InProcessTransport::send(int dst, int tag, const void* data, size_t bytes) {
  if (dst < 0 || dst >= size()) return absl::InvalidArgumentError(absl::StrCat("send to rank ", dst, " of ", size()));
  const char* p = static_cast<const char*>(data);
  hub_->put(rank_, dst, tag, std::vector<char>(p, p + bytes));
  return absl::OkStatus();
}

absl::Status InProcessTransport::recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) {
  if (src < 0 || src >= size()) return absl::InvalidArgumentError(absl::StrCat("recv from rank ", src, " of ", size()));
  return hub_->take(src, rank_, tag, data, bytes, deadline);
}

std::vector<std::unique_ptr<InProcessCommunicator>> InProcessCommunicator::create_group(int size, CommOptions o) {
  auto hub = std::make_shared<InProcessHub>(size);
  std::vector<std::unique_ptr<InProcessCommunicator>> out;
  for (int r = 0; r < size; ++r) out.push_back(std::make_unique<InProcessCommunicator>(hub, r, o));
  return out;
}

InProcessCommunicator::InProcessCommunicator(std::shared_ptr<InProcessHub> hub, int rank, CommOptions o,
                                             std::string group)
    : hub_(hub),
      transport_(std::move(hub), rank),
      options_(o),
      group_(std::move(group)),
      queue_(absl::StrCat(group_, " (rank ", rank, " of ", transport_.size(), ", inprocess)"), o.timeout) {}

CommHandlePtr InProcessCommunicator::do_allreduce(Tensor t, ReduceOp op) {
  const int tag = next_tag();
  return queue_.submit("allreduce", [this, t, op, tag](OpQueue::Clock::time_point d) {
    return ring::allreduce(transport_, t, op, tag, d);
  });
}

absl::Status InProcessCommunicator::do_allreduce_now(Tensor t, ReduceOp op) {
  const int tag = next_tag();
  return queue_.run_now("allreduce", [this, t, op, tag](OpQueue::Clock::time_point d) {
    return ring::allreduce(transport_, t, op, tag, d);
  });
}

CommHandlePtr InProcessCommunicator::do_broadcast(Tensor t, int root) {
  const int tag = next_tag();
  return queue_.submit("broadcast", [this, t, root, tag](OpQueue::Clock::time_point d) {
    return ring::broadcast(transport_, t, root, tag, d);
  });
}

CommHandlePtr InProcessCommunicator::do_allgather(Tensor in, Tensor out) {
  const int tag = next_tag();
  return queue_.submit("allgather", [this, in, out, tag](OpQueue::Clock::time_point d) {
    return ring::allgather(transport_, in, out, tag, d);
  });
}

CommHandlePtr InProcessCommunicator::do_reduce_scatter(Tensor in, Tensor out, ReduceOp op) {
  const int tag = next_tag();
  return queue_.submit("reduce_scatter", [this, in, out, op, tag](OpQueue::Clock::time_point d) {
    return ring::reduce_scatter(transport_, in, out, op, tag, d);
  });
}

CommHandlePtr InProcessCommunicator::do_barrier() {
  const int tag = next_tag();
  return queue_.submit("barrier",
                       [this, tag](OpQueue::Clock::time_point d) { return ring::barrier(transport_, tag, d); });
}

CommHandlePtr InProcessCommunicator::do_send(Tensor t, int dst, int tag) {
  return queue_.submit("send", [this, t, dst, tag](OpQueue::Clock::time_point) {
    return transport_.send(dst, tag, t.raw(), t.nbytes());
  });
}

CommHandlePtr InProcessCommunicator::do_recv(Tensor t, int src, int tag) {
  return queue_.submit("recv", [this, t, src, tag](OpQueue::Clock::time_point d) {
    return transport_.recv(src, tag, t.raw(), t.nbytes(), d);
  });
}

absl::StatusOr<std::unique_ptr<Communicator>> InProcessCommunicator::do_split(int color, int key) {
  const int tag = next_tag(), split = split_count_++;  // the same on every rank: collectives run in order
  Tensor mine = Tensor::empty(host_memory(), {2}, DType::kI32),
         all = Tensor::empty(host_memory(), {2 * size()}, DType::kI32);
  mine.data<int32_t>()[0] = color;
  mine.data<int32_t>()[1] = key;
  absl::Status st = queue_.run_now("split", [this, mine, all, tag](OpQueue::Clock::time_point d) {
    return ring::allgather(transport_, mine, all, tag, d);
  });
  if (!st.ok()) return st;
  if (color == kNoGroup) return std::unique_ptr<Communicator>();
  std::vector<std::pair<int, int>> members;  // (key, old rank) of this color
  for (int r = 0; r < size(); ++r)
    if (all.data<int32_t>()[2 * r] == color) members.emplace_back(all.data<int32_t>()[2 * r + 1], r);
  std::sort(members.begin(), members.end());
  int new_rank = 0;
  while (members[new_rank].second != rank()) ++new_rank;
  const int n = static_cast<int>(members.size());
  return std::unique_ptr<Communicator>(new InProcessCommunicator(hub_->child(split, color, n), new_rank, options_,
                                                                 absl::StrCat(group_, "/split ", color)));
}

}  // namespace ty
