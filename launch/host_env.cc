#include "launch/host_env.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace ty {

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}
}  // namespace

WorldEnv world_from_env() {
  WorldEnv w;
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {
    w = {env_int("OMPI_COMM_WORLD_RANK", 0), env_int("OMPI_COMM_WORLD_SIZE", 1),
         env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0), "ompi"};
  } else if (std::getenv("PMIX_RANK") && std::getenv("SLURM_NTASKS")) {
    w = {env_int("PMIX_RANK", 0), env_int("SLURM_NTASKS", 1), env_int("SLURM_LOCALID", 0), "pmix"};
  } else if (std::getenv("SLURM_PROCID") && std::getenv("SLURM_NTASKS") && std::getenv("SLURM_STEP_ID")) {
    w = {env_int("SLURM_PROCID", 0), env_int("SLURM_NTASKS", 1), env_int("SLURM_LOCALID", 0), "slurm"};
  }
  return w;
}

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
