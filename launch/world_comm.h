// The job's host communicator for this process: none for a lone rank; MPI under mpirun or
// srun; UCX for ranks started by anything else through the rendezvous contract
// (host_env.h), meeting at the job's store; `comm.backend: ucx` under mpirun meets through
// MPI and then talks over UCX.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "comm/communicator.h"
#include "comm/rendezvous/store.h"
#include "launch/host_env.h"
#include "worker/job/spec.h"

namespace ty {

struct WorldComm {
  std::shared_ptr<rendezvous::Store> store;  // the rendezvous store (rank 0 of tcp:// hosts it): lives with the run
  std::unique_ptr<Communicator> bootstrap;   // MPI, when UCX met through it
  std::unique_ptr<Communicator> comm;        // null for a lone rank
};

// Errors name the variable or key (exit 2) or the store or peer that cannot be reached (3).
absl::StatusOr<WorldComm> open_world_comm(const WorldEnv& world, const JobSpec& spec);

// All ranks of a job share one run directory: each posts its own (made absolute) to the
// store and reads everyone's; a rank given another is the user's error (exit 2) naming
// both ranks and both directories, on every rank. For a store with a server (tcp://,
// file://), not a collective one: rank 0 alone waits until every rank has read.
absl::Status check_one_run_dir(rendezvous::Store& store, int rank, int size, const std::string& run_dir,
                               rendezvous::Store::Clock::time_point deadline);

}  // namespace ty
