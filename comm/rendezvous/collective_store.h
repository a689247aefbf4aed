// CollectiveStore: a rendezvous::Store over a communicator the ranks already share (MPI's
// world under mpirun or srun). It has no server, so it is collective: set() only records
// the pair on this rank; every rank calls wait() (and get(), which waits for one key) the
// same number of times, in the same order, and each such call exchanges the pairs set
// since the last one among all ranks (an allgather of bytes). A key that no rank has set
// by then is an error naming it. That is what the bootstraps need: rank 0 sets NCCL's
// unique id and every rank gets it; every rank sets its address and waits for all.
#pragma once

#include <map>

#include "comm/communicator.h"
#include "comm/rendezvous/store.h"

namespace ty::rendezvous {

class CollectiveStore final : public Store {
 public:
  explicit CollectiveStore(Communicator& comm) : comm_(comm) {}
  absl::Status set(const std::string& key, const std::string& value) override;
  // Collective; the deadline is the communicator's timeout.
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override;
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override;
  std::string describe() const override;

 private:
  absl::Status exchange();
  Communicator& comm_;
  std::map<std::string, std::string> pending_, known_;
};

}  // namespace ty::rendezvous
