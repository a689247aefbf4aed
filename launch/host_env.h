// What the launcher tells a process about its host: how many ranks share it (Open MPI,
// MPICH/PMI, Slurm), and so how many intra-op threads each should use by default.
#pragma once

#include <string>

namespace ty {

// This process's place in the job, as its launcher tells it: Open MPI's mpirun
// (OMPI_COMM_WORLD_*), a PMIx launcher (PMIX_RANK, with Slurm's SLURM_NTASKS for the size),
// or Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID). A plain run is rank 0 of 1.
struct WorldEnv {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::string launcher = "none";  // ompi | pmix | slurm | none
};
WorldEnv world_from_env();

// Ranks on this host: OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS or SLURM_NTASKS_PER_NODE;
// 1 when none is set.
int local_ranks_on_host();

// runtime.threads default: this host's cores divided among its ranks, at least 1.
int default_threads();

}  // namespace ty
