#include "launch/host_env.h"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

std::string env_text(const char* name, std::string fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// A whole number in [lo, hi] from `name`, or an error naming it.
absl::StatusOr<int> env_int_in(const char* name, int lo, int hi, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  int n = 0;
  if (!absl::SimpleAtoi(v, &n) || n < lo || n > hi)
    return absl::InvalidArgumentError(absl::StrCat(name, "=", v, ": expected a whole number from ", lo, " to ", hi));
  return n;
}

absl::StatusOr<WorldEnv> rendezvous_world() {
  WorldEnv w;
  w.launcher = "rendezvous";
  constexpr int kMaxRanks = 1 << 20;
  auto size = env_int_in("TRAINYARD_WORLD_SIZE", 1, kMaxRanks, 0);
  if (!size.ok()) return size.status();
  if (*size == 0) return absl::InvalidArgumentError("TRAINYARD_RANK is set but TRAINYARD_WORLD_SIZE is not");
  w.size = *size;
  auto rank = env_int_in("TRAINYARD_RANK", 0, w.size - 1, 0);
  if (!rank.ok()) return rank.status();
  w.rank = *rank;
  auto local_size = env_int_in("TRAINYARD_LOCAL_WORLD_SIZE", 1, w.size, 1);
  if (!local_size.ok()) return local_size.status();
  w.local_size = *local_size;
  auto local_rank = env_int_in("TRAINYARD_LOCAL_RANK", 0, w.local_size - 1, 0);
  if (!local_rank.ok()) return local_rank.status();
  w.local_rank = *local_rank;
  auto attempt = env_int_in("TRAINYARD_ATTEMPT", 0, 1 << 30, 0);
  if (!attempt.ok()) return attempt.status();
  w.attempt = *attempt;
  w.rendezvous = env_text("TRAINYARD_RENDEZVOUS");
  if (w.rendezvous.empty() && w.size > 1)
    return absl::InvalidArgumentError(absl::StrCat(
        "TRAINYARD_WORLD_SIZE=", w.size,
        " needs TRAINYARD_RENDEZVOUS, the store the ranks meet at (file:///shared/dir, tcp://HOST:PORT or a "
        "coordinator's http(s)://HOST:PORT)"));
  w.token = env_text("TRAINYARD_RENDEZVOUS_TOKEN");
  w.job_id = env_text("TRAINYARD_JOB_ID", "job");
  return w;
}
}  // namespace

absl::StatusOr<WorldEnv> world_from_env() {
  WorldEnv w;
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {
    w.rank = env_int("OMPI_COMM_WORLD_RANK", 0);
    w.size = env_int("OMPI_COMM_WORLD_SIZE", 1);
    w.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    w.launcher = "ompi";
  } else if (std::getenv("PMIX_RANK") && std::getenv("SLURM_NTASKS")) {
    w.rank = env_int("PMIX_RANK", 0);
    w.size = env_int("SLURM_NTASKS", 1);
    w.local_rank = env_int("SLURM_LOCALID", 0);
    w.launcher = "pmix";
  } else if (std::getenv("SLURM_PROCID") && std::getenv("SLURM_NTASKS") && std::getenv("SLURM_STEP_ID")) {
    w.rank = env_int("SLURM_PROCID", 0);
    w.size = env_int("SLURM_NTASKS", 1);
    w.local_rank = env_int("SLURM_LOCALID", 0);
    w.launcher = "slurm";
  } else if (std::getenv("TRAINYARD_RANK") || std::getenv("TRAINYARD_WORLD_SIZE")) {
    return rendezvous_world();
  }
  w.local_size = local_ranks_on_host();
  return w;
}

int local_ranks_on_host() {
  for (const char* name :
       {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE", "TRAINYARD_LOCAL_WORLD_SIZE"}) {
    const char* v = std::getenv(name);
    if (v == nullptr) continue;
    const int n = std::atoi(v);  // SLURM may say "2(x3)": the leading number is this node's
    if (n > 0) return n;
  }
  return 1;
}

namespace {

// A number from a sysfs file, or -1.
int read_int(const std::string& path) {
  std::ifstream in(path);
  int v = -1;
  in >> v;
  return in ? v : -1;
}

// `cpus` grouped by physical core (package, core id from sysfs), cores in that order; each
// CPU alone where the topology cannot be read.
std::vector<std::vector<int>> physical_cores(const std::vector<int>& cpus) {
  std::map<std::tuple<int, int, int>, std::vector<int>> by_core;
  for (int c : cpus) {
    const std::string dir = absl::StrCat("/sys/devices/system/cpu/cpu", c, "/topology/");
    const int package = read_int(dir + "physical_package_id"), core = read_int(dir + "core_id");
    by_core[package < 0 || core < 0 ? std::tuple{-1, -1, c} : std::tuple{package, core, -1}].push_back(c);
  }
  std::vector<std::vector<int>> out;
  for (auto& [key, members] : by_core) out.push_back(std::move(members));
  return out;
}

std::string cpu_list(std::vector<int> cpus) {
  std::sort(cpus.begin(), cpus.end());
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    absl::StrAppend(&out, out.empty() ? "" : ",", cpus[i], j > i ? absl::StrCat("-", cpus[j]) : "");
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string bind_to_local_share(int local_rank, int local_size) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return "";
  // A process already kept to part of the machine (by its launcher, numactl, a container's
  // cpuset that shows as offline CPUs) is left where it was put.
  if (CPU_COUNT(&allowed) != sysconf(_SC_NPROCESSORS_ONLN)) return "";
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  // Whole physical cores per rank (their hyperthreads together), unless there are fewer
  // cores than ranks.
  std::vector<std::vector<int>> units = physical_cores(cpus);
  if (static_cast<int>(units.size()) < local_size) {
    units.clear();
    for (int c : cpus) units.push_back({c});
  }
  const int n = static_cast<int>(units.size());
  if (local_size < 1 || local_rank < 0 || local_rank >= local_size || n < local_size) return "";
  std::vector<int> mine_list;
  for (int i = n * local_rank / local_size; i < n * (local_rank + 1) / local_size; ++i)
    for (int c : units[static_cast<size_t>(i)]) mine_list.push_back(c);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  for (int c : mine_list) CPU_SET(c, &mine);
  if (sched_setaffinity(0, sizeof mine, &mine) != 0) return "";
  return cpu_list(mine_list);
}

std::string rdma_memlock_warning(const std::string& infiniband_dir, std::optional<uint64_t> memlock_bytes) {
  std::error_code ec;
  std::vector<std::string> devices;
  for (const auto& e : std::filesystem::directory_iterator(infiniband_dir, ec))
    devices.push_back(e.path().filename().string());
  if (ec || devices.empty()) return "";
  std::sort(devices.begin(), devices.end());
  if (!memlock_bytes) {
    rlimit lim{};
    if (getrlimit(RLIMIT_MEMLOCK, &lim) != 0) return "";
    memlock_bytes = lim.rlim_cur;
  }
  if (*memlock_bytes == RLIM_INFINITY || *memlock_bytes >= (uint64_t{1} << 30)) return "";
  return absl::StrCat("the locked-memory limit is ", *memlock_bytes / 1024, " KiB but this host has RDMA devices (",
                      absl::StrJoin(devices, ", "),
                      "), whose transports pin memory: raise it with `ulimit -l unlimited` (memlock in "
                      "/etc/security/limits.conf, LimitMEMLOCK=infinity for a systemd service, --ulimit memlock=-1 "
                      "for docker), or UCX and NCCL may fail to register buffers or fall back to slower transports");
}

int default_threads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / local_ranks_on_host());
}

}  // namespace ty
