#include "comm/inprocess/inprocess_communicator.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

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

absl::Status InProcessTransport::send(int dst, int tag, const void* data, size_t bytes, Clock::time_point) {
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
    : TransportCommunicator(std::make_unique<InProcessTransport>(hub, rank), o, "inprocess", std::move(group)),
      hub_(std::move(hub)) {}

std::unique_ptr<Communicator> InProcessCommunicator::make_child(int split, int color, const std::vector<int>& members,
                                                                int rank) {
  const int n = static_cast<int>(members.size());
  return std::make_unique<InProcessCommunicator>(hub_->child(split, color, n), rank, options(),
                                                 absl::StrCat(group(), "/split ", color));
}

}  // namespace ty
