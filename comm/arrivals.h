// Arrivals: who has reached a collective that timed out. A rank's wait in a collective
// ends in a timeout whether the peer that never came is stuck, stopped or gone; this names
// it, through a rendezvous::Store every rank of the group sees.
//
// Protocol (each rank of a group, per collective it issues):
//  1. Collectives are numbered per group in issue order (1, 2, ...): every rank issues the
//     same collectives in the same order, so a number names the same operation everywhere.
//  2. A rank whose collective N times out posts "N" under its rank in the group.
//  3. It then reads every other rank's post, waiting up to a grace period in all (the ranks
//     waiting in the same collective time out within about their difference in arrival).
//  4. Ranks with no post, or one below N, never reached collective N: the error names them,
//     and the ranks that wait in it. The group is broken from then on: later operations
//     fail with the same explanation, without waiting again.
// Posts are made only on a timeout, so a healthy run never touches the store. The store's
// keys must be fresh per attempt of a job (a directory or prefix under an agreed nonce),
// and the store must not need the group itself (a CollectiveStore over it would hang).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "comm/rendezvous/store.h"

namespace ty {

class Arrivals {
 public:
  Arrivals(std::shared_ptr<rendezvous::Store> store, std::string group, int rank, int size,
           std::chrono::milliseconds grace);
  // The same store and grace for a sub-group (`group` unique among the job's groups).
  std::shared_ptr<Arrivals> for_group(std::string group, int rank, int size) const;
  // Posts that collective `seq` timed out here (step 2) and returns `timeout` with the ranks
  // that never reached it appended (steps 3 and 4); after the first call, that same
  // explanation at once.
  absl::Status explain(const absl::Status& timeout, uint64_t seq);

 private:
  std::string key(int rank) const { return group_ + "/" + std::to_string(rank); }
  // Steps 2 to 4: the text appended to the timeout.
  std::string absent_ranks(uint64_t seq);
  std::shared_ptr<rendezvous::Store> store_;
  std::string group_;
  int rank_, size_;
  std::chrono::milliseconds grace_;
  std::mutex mu_;
  std::optional<std::string> explained_;  // "; rank 2 has not reached it (...)"
};

}  // namespace ty
