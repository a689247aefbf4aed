#include "launch/host_env.h"

#include <cstdlib>
#include <thread>

#include "gtest/gtest.h"

namespace ty {
namespace {

TEST(HostEnv, ThreadsSplitAmongLocalRanks) {
  unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  unsetenv("MPI_LOCALNRANKS");
  unsetenv("SLURM_NTASKS_PER_NODE");
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(local_ranks_on_host(), 1);
  EXPECT_EQ(default_threads(), cores);
  setenv("SLURM_NTASKS_PER_NODE", "2(x3)", 1);
  EXPECT_EQ(local_ranks_on_host(), 2);
  setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1000", 1);
  EXPECT_EQ(local_ranks_on_host(), 1000);
  EXPECT_EQ(default_threads(), 1);
  unsetenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  unsetenv("SLURM_NTASKS_PER_NODE");
}

}  // namespace
}  // namespace ty
