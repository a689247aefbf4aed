// What the launcher tells a process about its host: how many ranks share it (Open MPI,
// MPICH/PMI, Slurm), and so how many intra-op threads each should use by default.
#pragma once

namespace ty {

// Ranks on this host: OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS or SLURM_NTASKS_PER_NODE;
// 1 when none is set.
int local_ranks_on_host();

// runtime.threads default: this host's cores divided among its ranks, at least 1.
int default_threads();

}  // namespace ty
