// The worker daemon: registers its slots with the coordinator, heartbeats (a long poll:
// reports of its ranks out, orders in), starts the ranks it is given as `trainyard train`
// processes (rank_process.h) with the rendezvous contract in their environment, kills
// whole groups when told, and reports every rank's end with its last output lines.
// Nothing of runtime, comm or storage is linked: it survives any job.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace ty::daemon {

struct WorkerOptions {
  std::string coordinator;  // http://HOST:PORT
  std::string token;
  std::string name;      // unique in the cluster; a restarted worker reuses it
  int slots = 1;         // CPU rank slots
  std::string work_dir;  // WORK_DIR/<job>/<attempt>/rank-R/: each rank's directory and log
  std::string binary;    // the trainyard binary the ranks run (this one)
};

// Runs until `stop()` returns true (checked between heartbeats); kills every rank it runs
// before returning. A coordinator that does not answer is retried, not fatal: its ranks
// keep training.
absl::Status run_worker(const WorkerOptions& options, bool (*stop)());

}  // namespace ty::daemon
