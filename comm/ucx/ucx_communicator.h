// UcxCommunicator: the Communicator over UCX (host tensors) — the ring algorithms over a
// UcxTransport, run on the op queue as every transport backend (transport_communicator.h).
// Its ranks find each other through a rendezvous store, so no mpirun is needed.
#pragma once

#include <memory>
#include <string>

#include "comm/algorithms/transport_communicator.h"
#include "comm/rendezvous/store.h"
#include "comm/ucx/ucx_transport.h"

namespace ty {

class UcxCommunicator final : public TransportCommunicator {
 public:
  // Rank `rank` of `size`, meeting the others through `store` within options.timeout.
  static absl::StatusOr<std::unique_ptr<UcxCommunicator>> create(rendezvous::Store& store, int rank, int size,
                                                                 CommOptions options);
  // The transports UCX chose ("tcp", "sysv, posix, cma"), for the run header.
  std::string transports() const { return transport_->transports(); }
  std::string describe() const override { return "ucx (" + transports() + ")"; }

 protected:
  std::unique_ptr<Communicator> make_child(int split, int color, const std::vector<int>& members, int rank) override;

 private:
  // `raw` is `transport` (taken before it moves to the base).
  UcxCommunicator(std::unique_ptr<UcxTransport> transport, const UcxTransport* raw, int group_id, CommOptions options,
                  std::string group);
  const UcxTransport* transport_;  // owned by the base
  int group_id_;
};

}  // namespace ty
