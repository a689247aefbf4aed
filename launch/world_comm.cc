#include "launch/world_comm.h"

#include "absl/strings/str_cat.h"
#include "comm/mpi/mpi_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "comm/rendezvous/open_store.h"
#include "comm/ucx/ucx_communicator.h"

namespace ty {

absl::StatusOr<WorldComm> open_world_comm(const WorldEnv& world, const JobSpec& spec) {
  WorldComm out;
  const CommBackend backend = spec.comm.backend;
  CommOptions o;
  o.timeout = std::chrono::seconds(spec.comm.timeout_s);
  if (world.size > 1 && backend == CommBackend::kNone)
    return absl::InvalidArgumentError(
        absl::StrCat("comm.backend: none, but the launcher (", world.launcher, ") started ", world.size, " ranks"));
  if (world.launcher == "rendezvous") {
    if (backend == CommBackend::kMpi)
      return absl::InvalidArgumentError(
          "comm.backend: mpi needs mpirun or srun; ranks started through TRAINYARD_RANK talk over ucx");
    if (world.size == 1) return out;
    auto store = rendezvous::open_store({world.rendezvous, world.token, world.job_id, world.attempt}, world.rank,
                                        rendezvous::Store::Clock::now() + o.timeout);
    if (!store.ok()) return store.status();
    out.store = *store;
    auto ucx = UcxCommunicator::create(*out.store, world.rank, world.size, o);
    if (!ucx.ok()) return ucx.status();
    out.comm = std::move(*ucx);
    return out;
  }
  if (world.size == 1 && backend != CommBackend::kMpi && backend != CommBackend::kUcx) return out;
  auto mpi = MpiCommunicator::create(o);
  if (!mpi.ok()) return mpi.status();
  if (backend != CommBackend::kUcx) {
    out.comm = std::move(*mpi);
    return out;
  }
  out.bootstrap = std::move(*mpi);
  out.store = std::make_shared<rendezvous::CollectiveStore>(*out.bootstrap);
  auto ucx = UcxCommunicator::create(*out.store, out.bootstrap->rank(), out.bootstrap->size(), o);
  if (!ucx.ok()) return ucx.status();
  out.comm = std::move(*ucx);
  return out;
}

}  // namespace ty
