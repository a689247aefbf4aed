#include "launch/host_env.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace ty {

int local_ranks_on_host() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"}) {
    const char* v = std::getenv(name);
    if (v == nullptr) continue;
    const int n = std::atoi(v);  // SLURM may say "2(x3)": the leading number is this node's
    if (n > 0) return n;
  }
  return 1;
}

int default_threads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_ranks_on_host());
}

}  // namespace ty
