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

// The rendezvous contract: read when no MPI or Slurm launcher is there, checked, and
// overridden by one that is.
TEST(HostEnv, TheRendezvousContractIsReadCheckedAndYieldsToMpi) {
  const char* vars[] = {"TRAINYARD_RANK",       "TRAINYARD_WORLD_SIZE",
                        "TRAINYARD_LOCAL_RANK", "TRAINYARD_LOCAL_WORLD_SIZE",
                        "TRAINYARD_RENDEZVOUS", "TRAINYARD_RENDEZVOUS_TOKEN",
                        "TRAINYARD_JOB_ID",     "TRAINYARD_ATTEMPT",
                        "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                        "SLURM_PROCID"};
  for (const char* v : vars) unsetenv(v);
  EXPECT_EQ(world_from_env()->launcher, "none");
  setenv("TRAINYARD_RANK", "2", 1);
  setenv("TRAINYARD_WORLD_SIZE", "4", 1);
  setenv("TRAINYARD_LOCAL_RANK", "0", 1);
  setenv("TRAINYARD_LOCAL_WORLD_SIZE", "2", 1);
  setenv("TRAINYARD_RENDEZVOUS", "tcp://10.0.0.1:29500", 1);
  setenv("TRAINYARD_JOB_ID", "j7", 1);
  setenv("TRAINYARD_ATTEMPT", "3", 1);
  absl::StatusOr<WorldEnv> w = world_from_env();
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->launcher, "rendezvous");
  EXPECT_EQ(w->rank, 2);
  EXPECT_EQ(w->size, 4);
  EXPECT_EQ(w->local_size, 2);
  EXPECT_EQ(w->rendezvous, "tcp://10.0.0.1:29500");
  EXPECT_EQ(w->job_id, "j7");
  EXPECT_EQ(w->attempt, 3);
  EXPECT_EQ(local_ranks_on_host(), 2);

  setenv("TRAINYARD_RANK", "4", 1);
  EXPECT_EQ(std::string(world_from_env().status().message()), "TRAINYARD_RANK=4: expected a whole number from 0 to 3");
  setenv("TRAINYARD_RANK", "1", 1);
  setenv("TRAINYARD_LOCAL_RANK", "two", 1);
  EXPECT_EQ(world_from_env().status().code(), absl::StatusCode::kInvalidArgument);
  setenv("TRAINYARD_LOCAL_RANK", "1", 1);
  unsetenv("TRAINYARD_RENDEZVOUS");
  EXPECT_NE(world_from_env().status().message().find("needs TRAINYARD_RENDEZVOUS"), std::string::npos);

  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);  // mpirun's environment wins
  EXPECT_EQ(world_from_env()->launcher, "ompi");
  for (const char* v : vars) unsetenv(v);
}

}  // namespace
}  // namespace ty
