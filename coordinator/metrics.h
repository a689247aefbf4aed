// The coordinator's /metrics in Prometheus text format (version 0.0.4): jobs by state,
// workers and their slots, and for each running job what its rank 0 last wrote to
// metrics.jsonl (on the shared runs directory): step, loss, samples/s of the last epoch,
// the latest eval accuracy.
#pragma once

#include <cstdint>
#include <string>

#include "coordinator/cluster.h"
#include "coordinator/job_store.h"

namespace ty::coordinator {

std::string prometheus_text(JobStore& store, Cluster& cluster, const std::string& runs_dir);

// What rank 0 of job `id` last wrote to RUNS_DIR/<id>/metrics.jsonl, as JSON: "step",
// "loss", "samples_per_second" (of the last epoch), "eval_accuracy" — those it has written
// (an empty object before the first record).
std::string job_progress_json(const std::string& runs_dir, int64_t id);

}  // namespace ty::coordinator
