// UcxTransport: the Transport (comm/transport.h) over UCX's ucp tag API — one UCX context
// and worker per rank, an endpoint per peer — so that the ring algorithms run on shared
// memory, TCP or RDMA, whatever UCX finds (UCX_TLS and UCX_NET_DEVICES are honoured).
//
// Protocol:
//  1. Every rank posts its worker address under "ucx/<rank>" in the job's rendezvous store
//     and waits for everyone's (bounded by the deadline).
//  2. It creates an endpoint to every peer with peer error handling: a peer that dies fails
//     the operations that involve it at once, naming it, instead of at the timeout.
//  3. A message's 64-bit tag is (source rank: 20 bits, group: 12 bits, user tag: 32 bits),
//     matched exactly, so groups and concurrent collectives never take each other's data.
//  4. A group's operations run on its communicator's op queue, one at a time; sub-groups
//     share the worker from their own queues, so it is created thread-safe (UCX's MULTI
//     mode), and every wait progresses it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "comm/rendezvous/store.h"
#include "comm/transport.h"

namespace ty {

class UcxTransport final : public Transport {
 public:
  // Steps 1 and 2 for `rank` of `size`, through `store`, by `deadline`.
  static absl::StatusOr<std::unique_ptr<UcxTransport>> connect(rendezvous::Store& store, int rank, int size,
                                                               Clock::time_point deadline);
  ~UcxTransport() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Returns when `data` may be reused (the message is on its way or delivered).
  absl::Status send(int dst, int tag, const void* data, size_t bytes, Clock::time_point deadline) override;
  absl::Status recv(int src, int tag, void* data, size_t bytes, Clock::time_point deadline) override;
  // The receive is posted before the send: no pair of ranks waits on the other's send.
  absl::Status sendrecv(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data, size_t recv_bytes,
                        int tag, Clock::time_point deadline) override;
  // Every piece in flight at once (receives posted first); on_piece runs as each lands.
  absl::Status sendrecv_pieces(int dst, const void* send_data, size_t send_bytes, int src, void* recv_data,
                               size_t recv_bytes, size_t piece, int tag, Clock::time_point deadline,
                               const OnPiece& on_piece) override;
  // "tcp", "sysv, posix, cma", ...: the transports UCX chose to reach the peers.
  std::string transports() const { return transports_; }
  // The transport of a sub-group over the same worker and endpoints: `members` are its
  // ranks in this transport's numbering, `rank` this rank's place; `group` (1 to 4095,
  // distinct among the groups alive at once) goes into every tag (step 3).
  std::unique_ptr<UcxTransport> subgroup(int group, const std::vector<int>& members, int rank) const;

 private:
  struct Impl;
  UcxTransport(std::shared_ptr<Impl> impl, int rank, std::vector<int> world_ranks, int group);
  uint64_t tag_of(int group_rank, int tag) const;
  // "rank 1", or in a sub-group "rank 1 (world rank 5)" (lost peers are named by world rank).
  std::string peer_name(int group_rank) const;
  std::shared_ptr<Impl> impl_;
  int rank_, size_;
  std::vector<int> world_ranks_;  // this group's rank -> the world's
  int group_ = 0;
  std::string transports_;
};

}  // namespace ty
