// The worker daemon: registers its slots with the coordinator, heartbeats (a long poll:
// reports of its ranks out, orders in), starts the ranks it is given as `trainyard train`
// processes (rank_process.h) with the rendezvous contract in their environment, kills
// whole groups when told, and reports every rank's end with its last output lines.
// Nothing of runtime, comm or storage is linked: it survives any job.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ty::daemon {

struct WorkerOptions {
  std::string coordinator;  // http://HOST:PORT
  std::string token;
  std::string tls_ca;    // an https coordinator's CA (PEM; also given to the ranks); "" for the system's
  std::string name;      // unique in the cluster; a restarted worker reuses it
  int slots = 1;         // CPU rank slots
  std::vector<std::string> gpus;  // one rank each (CUDA_VISIBLE_DEVICES), by index or UUID
  std::string work_dir;  // WORK_DIR/<job>/<attempt>/rank-R/: each rank's directory and log
  std::string binary;    // the trainyard binary the ranks run (this one)
};

// The GPUs of `--gpus`: "auto" (those of CUDA_VISIBLE_DEVICES when it is set, else
// nvidia-smi's indices, else the /dev/nvidiaN devices), "none", or a comma-separated list of
// indices or UUIDs ("0,1", "GPU-5d2a..."); a bad list is an error naming it.
absl::StatusOr<std::vector<std::string>> find_gpus(const std::string& flag);

// Runs until `stop()` returns true (checked between heartbeats); kills every rank it runs
// before returning. A coordinator that does not answer is retried, not fatal: its ranks
// keep training.
absl::Status run_worker(const WorkerOptions& options, bool (*stop)());

}  // namespace ty::daemon
