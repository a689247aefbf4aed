// One rank the worker daemon runs: `trainyard train` as a child process in a process group
// of its own (so that a kill reaches everything it started), with PR_SET_PDEATHSIG so that
// it dies with the daemon, stdout and stderr into a log file.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ty::daemon {

struct RankExit {
  int exit_code = -1;  // or -1 when a signal ended it
  int signal = 0;
};

class RankProcess {
 public:
  // Starts `argv` in `dir` with `env` (the whole environment), output to `log`.
  static absl::StatusOr<RankProcess> start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                                           const std::string& dir, const std::string& log);
  pid_t pid() const { return pid_; }
  // Its exit once it has ended (reaps it), else nullopt.
  std::optional<RankExit> poll();
  // Signals its whole process group.
  void signal_group(int sig) const;
  // The last `lines` lines of its log.
  std::string tail(int lines) const;

 private:
  pid_t pid_ = -1;
  std::string log_;
  std::optional<RankExit> exit_;
};

// The daemon's own environment minus what would make a rank think an MPI or Slurm launcher
// started it (OMPI_*, PMIX_*, SLURM_*) and the coordinator's token and where it lies
// (TRAINYARD_TOKEN, TRAINYARD_STATE_DIR, TRAINYARD_COORDINATOR), plus `extra`.
std::map<std::string, std::string> rank_environment(const std::map<std::string, std::string>& extra);

}  // namespace ty::daemon
