// Ranks as threads of one process: a Hub of mailboxes as the transport, the ring
// algorithms on top. For tests of everything above the transport (bucketing, samplers,
// data-parallel training) at any world size without launching processes.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "comm/algorithms/transport_communicator.h"
#include "comm/transport.h"

namespace ty {

// Mailboxes shared by the ranks of one in-process group.
class InProcessHub {
 public:
  explicit InProcessHub(int size) : size_(size) {}
  int size() const { return size_; }
  // The hub of sub-group `color` made by split number `split` (every member gets the same).
  std::shared_ptr<InProcessHub> child(int split, int color, int size);
  void put(int src, int dst, int tag, std::vector<char> msg);
  absl::Status take(int src, int dst, int tag, void* data, size_t bytes, Transport::Clock::time_point deadline);

 private:
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::tuple<int, int, int>, std::deque<std::vector<char>>> boxes_;
  std::map<std::pair<int, int>, std::shared_ptr<InProcessHub>> children_;
};

class InProcessTransport final : public Transport {
 public:
  InProcessTransport(std::shared_ptr<InProcessHub> hub, int rank) : hub_(std::move(hub)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_->size(); }
  // Never waits: the message goes into the receiver's mailbox.
  absl::Status send(int dst, int tag, const void* data, size_t bytes, Clock::time_point deadline) override;
  absl::Status recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) override;

 private:
  std::shared_ptr<InProcessHub> hub_;
  int rank_;
};

class InProcessCommunicator final : public TransportCommunicator {
 public:
  // One communicator per rank of a `size`-rank group; hand each to its own thread.
  static std::vector<std::unique_ptr<InProcessCommunicator>> create_group(int size, CommOptions options = {});

  InProcessCommunicator(std::shared_ptr<InProcessHub> hub, int rank, CommOptions options, std::string group = "world");

 protected:
  std::unique_ptr<Communicator> make_child(int split, int color, const std::vector<int>& members, int rank) override;

 private:
  std::shared_ptr<InProcessHub> hub_;
};

}  // namespace ty
