// What the launcher tells a process about its place in the job and its host: how many ranks
// share it, and so how many intra-op threads each should use by default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace ty {

// This process's place in the job, as its launcher tells it:
//   ompi        Open MPI's mpirun (OMPI_COMM_WORLD_*)
//   pmix        a PMIx launcher (PMIX_RANK, with Slurm's SLURM_NTASKS for the size)
//   slurm       Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID)
//   rendezvous  anything else that starts the ranks — a worker daemon, a script, Kubernetes —
//               through trainyard's own contract: TRAINYARD_RANK, TRAINYARD_WORLD_SIZE,
//               TRAINYARD_LOCAL_RANK, TRAINYARD_LOCAL_WORLD_SIZE and TRAINYARD_RENDEZVOUS (a
//               store URL: file:///shared/dir or tcp://HOST:PORT, hosted by rank 0), optionally
//               TRAINYARD_RENDEZVOUS_TOKEN, TRAINYARD_JOB_ID and TRAINYARD_ATTEMPT (they
//               prefix every store key, so ranks of a stale attempt never meet a new one)
//   none        a plain run: rank 0 of 1
// An MPI or Slurm environment wins over the rendezvous one.
struct WorldEnv {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;
  std::string launcher = "none";  // ompi | pmix | slurm | rendezvous | none
  // rendezvous only
  std::string rendezvous, token, job_id = "job";
  int attempt = 0;
};
// Errors (exit class 2) name the variable and what it must hold.
absl::StatusOr<WorldEnv> world_from_env();

// Ranks on this host: OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS, SLURM_NTASKS_PER_NODE or
// TRAINYARD_LOCAL_WORLD_SIZE; 1 when none is set.
int local_ranks_on_host();

// runtime.threads default: this host's cores divided among its ranks, at least 1.
int default_threads();

// Keeps this process (and the threads it starts from now on) to local rank `local_rank`'s
// share of the machine: the `local_rank`-th of `local_size` equal blocks of its physical
// cores (each with its hyperthreads; single CPUs when there are fewer cores than ranks).
// Returns the CPUs it kept ("2-3,18-19"), or "" when nothing changed: fewer CPUs than ranks,
// or a process already kept to part of the machine (by its launcher or numactl).
std::string bind_to_local_share(int local_rank, int local_size);

// RDMA (UCX's and NCCL's InfiniBand/RoCE transports) pins memory, so it needs a large
// locked-memory limit: the warning to print when `infiniband_dir` lists RDMA devices and
// `memlock_bytes` (RLIM_INFINITY: unlimited; none: this process's soft limit) is below
// 1 GiB — naming the devices, the limit and `ulimit -l` — or "" when all is well.
std::string rdma_memlock_warning(const std::string& infiniband_dir = "/sys/class/infiniband",
                                 std::optional<uint64_t> memlock_bytes = std::nullopt);

}  // namespace ty
