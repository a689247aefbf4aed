#include "launch/world_comm.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "comm/mpi/mpi_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "comm/rendezvous/open_store.h"
#include "comm/ucx/ucx_communicator.h"
#include "runtime/status.h"

namespace ty {
namespace {

// Once per host: by its local rank 0.
void warn_if_memlock_too_low(int rank, int local_rank) {
  if (local_rank != 0) return;
  if (std::string w = rdma_memlock_warning(); !w.empty())
    std::fprintf(stderr, "trainyard: warning: rank %d: %s\n", rank, w.c_str());
}

}  // namespace

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
    warn_if_memlock_too_low(world.rank, world.local_rank);
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
  warn_if_memlock_too_low(out.bootstrap->rank(), world.local_rank);
  auto ucx = UcxCommunicator::create(*out.store, out.bootstrap->rank(), out.bootstrap->size(), o);
  if (!ucx.ok()) return ucx.status();
  out.comm = std::move(*ucx);
  return out;
}

absl::Status check_one_run_dir(rendezvous::Store& store, int rank, int size, const std::string& run_dir,
                               rendezvous::Store::Clock::time_point deadline) {
  std::error_code ec;
  std::filesystem::path mine = std::filesystem::absolute(run_dir, ec).lexically_normal();
  if (ec) mine = run_dir;
  TY_RETURN_IF_ERROR(store.set(absl::StrCat("run_dir/", rank), mine.string()));
  std::vector<std::string> keys;
  for (int r = 0; r < size; ++r) keys.push_back(absl::StrCat("run_dir/", r));
  TY_RETURN_IF_ERROR(store.wait(keys, deadline));
  absl::StatusOr<std::string> first = store.get(keys[0], deadline);
  if (!first.ok()) return first.status();
  absl::Status verdict;
  for (int r = 1; r < size && verdict.ok(); ++r) {
    absl::StatusOr<std::string> theirs = store.get(keys[static_cast<size_t>(r)], deadline);
    if (!theirs.ok()) return theirs.status();
    if (*theirs != *first)
      verdict = absl::InvalidArgumentError(absl::StrCat("rank ", r, " was given --run-dir ", *theirs, " but rank 0 ",
                                                        *first, "; all ranks of a job share one run directory"));
  }
  // Rank 0 may host the store (tcp://): it leaves only once every rank has read it, so that
  // all reach the same verdict instead of finding the store gone.
  TY_RETURN_IF_ERROR(store.set(absl::StrCat("run_dir_read/", rank), "1"));
  if (rank == 0) {
    std::vector<std::string> read;
    for (int r = 0; r < size; ++r) read.push_back(absl::StrCat("run_dir_read/", r));
    TY_RETURN_IF_ERROR(store.wait(read, deadline));
  }
  return verdict;
}

}  // namespace ty
