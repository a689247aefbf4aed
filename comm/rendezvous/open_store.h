// The store a job's ranks meet at, from its URL (TRAINYARD_RENDEZVOUS):
//   file:///shared/dir   a directory every rank sees (FileStore)
//   tcp://HOST:PORT      a TcpStore that rank 0 hosts on PORT; every rank connects to HOST
//   http(s)://HOST:PORT  the coordinator's store (HttpStore), for ranks a worker daemon
//                        started; TRAINYARD_JOB_ID is the job's number
// Every key is prefixed with the job id and attempt, so ranks of a stale attempt never meet
// those of a new one.
#pragma once

#include <memory>
#include <string>

#include "comm/rendezvous/store.h"

namespace ty::rendezvous {

struct StoreAddress {
  std::string url;     // as given
  std::string token;   // "" when none
  std::string job_id;  // key prefix, with the attempt
  int attempt = 0;
};

// Rank `rank` opens (rank 0 of tcp: hosts, then connects) the job's store; connecting waits
// until `deadline` for the host. Errors name the URL (exit class 2 for a bad URL, 3 for a
// store that cannot be reached).
absl::StatusOr<std::shared_ptr<Store>> open_store(const StoreAddress& address, int rank,
                                                  Store::Clock::time_point deadline);

}  // namespace ty::rendezvous
