#include "launch/host_env.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
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

// A rendezvous-started rank keeps to its share of the CPUs (in a child process: the
// binding would stay with this one).
TEST(HostEnv, ALocalRankBindsToItsShareOfTheCpus) {
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
  const int n = CPU_COUNT(&all);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string kept = bind_to_local_share(1, 2);
    cpu_set_t now;
    sched_getaffinity(0, sizeof now, &now);
    // Already bound (by whatever runs the tests), or a single CPU: left alone.
    if (n < 2 || n != sysconf(_SC_NPROCESSORS_ONLN)) _exit(kept.empty() && CPU_COUNT(&now) == n ? 0 : 1);
    // Part of the machine, the part it reports; rank 0's share would be the rest.
    _exit(!kept.empty() && CPU_COUNT(&now) >= 1 && CPU_COUNT(&now) < n && CPU_ISSET(n - 1, &now) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(bind_to_local_share(0, n + 1), "");  // more ranks than CPUs: left alone
}

TEST(HostEnv, ALowLockedMemoryLimitIsAWarningOnlyWhereRdmaDevicesAre) {
  char dir[] = "/tmp/trainyard-ib-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  EXPECT_EQ(rdma_memlock_warning(dir, 64 << 10), "");  // no devices
  std::filesystem::create_directory(std::string(dir) + "/mlx5_0");
  const std::string w = rdma_memlock_warning(dir, 64 << 10);
  EXPECT_NE(w.find("locked-memory limit is 64 KiB"), std::string::npos) << w;
  EXPECT_NE(w.find("(mlx5_0)"), std::string::npos) << w;
  EXPECT_NE(w.find("ulimit -l"), std::string::npos) << w;
  EXPECT_EQ(rdma_memlock_warning(dir, RLIM_INFINITY), "");
  EXPECT_EQ(rdma_memlock_warning(dir, uint64_t{8} << 30), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ty
