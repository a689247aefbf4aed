#include "coordinator/metrics.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ty::coordinator {
namespace {

using nlohmann::json;

// A label value with Prometheus' escapes.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// The last records of each kind in the last 256 KiB of a metrics.jsonl.
std::map<std::string, json> last_records(const std::string& path) {
  std::map<std::string, json> out;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return out;
  const std::streamoff size = in.tellg(), from = std::max<std::streamoff>(0, size - (256 << 10));
  in.seekg(from);
  std::string line;
  if (from > 0) std::getline(in, line);  // a partial first line
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("kind") && j["kind"].is_string()) out[j["kind"].get<std::string>()] = j;
  }
  return out;
}

}  // namespace

std::string prometheus_text(JobStore& store, Cluster& cluster, const std::string& runs_dir) {
  std::string out;
  std::map<std::string, int> by_state = {{kQueued, 0},    {kRunning, 0}, {kRestarting, 0},
                                         {kSucceeded, 0}, {kFailed, 0},  {kCanceled, 0}};
  absl::StatusOr<std::vector<JobRecord>> jobs = store.list(1 << 30);
  if (jobs.ok())
    for (const JobRecord& j : *jobs) ++by_state[j.state];
  family(out, "trainyard_jobs", "gauge", "Jobs in the coordinator's store, by state.");
  for (const auto& [state, n] : by_state) absl::StrAppend(&out, "trainyard_jobs{state=\"", state, "\"} ", n, "\n");
  const std::vector<WorkerView> workers = cluster.workers();
  family(out, "trainyard_worker_up", "gauge", "1 for a worker that heartbeats, 0 for a lost one.");
  for (const WorkerView& w : workers)
    absl::StrAppend(&out, "trainyard_worker_up{worker=\"", label(w.name), "\"} ", w.lost ? 0 : 1, "\n");
  family(out, "trainyard_worker_slots", "gauge", "Rank slots a worker offers.");
  for (const WorkerView& w : workers)
    absl::StrAppend(&out, "trainyard_worker_slots{worker=\"", label(w.name), "\"} ", w.slots, "\n");
  family(out, "trainyard_worker_busy_slots", "gauge", "Rank slots a worker's ranks take.");
  for (const WorkerView& w : workers)
    absl::StrAppend(&out, "trainyard_worker_busy_slots{worker=\"", label(w.name), "\"} ", w.busy, "\n");
  // Running jobs: what rank 0 last wrote.
  std::vector<std::pair<JobRecord, std::map<std::string, json>>> running;
  if (jobs.ok())
    for (const JobRecord& j : *jobs)
      if (j.state == kRunning) running.emplace_back(j, last_records(absl::StrCat(runs_dir, "/", j.id, "/metrics.jsonl")));
  struct Gauge {
    const char* name;
    const char* help;
    const char* kind;
    const char* field;
  };
  for (const Gauge& g : {Gauge{"trainyard_job_step", "The last optimizer step rank 0 logged.", "train", "step"},
                         Gauge{"trainyard_job_loss", "The last training loss rank 0 logged.", "train", "loss"},
                         Gauge{"trainyard_job_samples_per_second", "Samples per second over the last epoch.", "epoch",
                               "samples_per_s"},
                         Gauge{"trainyard_job_eval_accuracy", "The latest evaluation accuracy.", "eval", "accuracy"},
                         Gauge{"trainyard_job_attempt", "The running attempt (1 + restarts of any kind).", "", ""},
                         Gauge{"trainyard_job_restarts", "Counted restarts so far.", "", ""}}) {
    family(out, g.name, "gauge", g.help);
    for (const auto& [job, records] : running) {
      double v = 0;
      if (std::string(g.name) == "trainyard_job_attempt") {
        v = job.attempt;
      } else if (std::string(g.name) == "trainyard_job_restarts") {
        v = job.restarts;
      } else {
        auto r = records.find(g.kind);
        if (r == records.end() || !r->second.contains(g.field) || !r->second[g.field].is_number()) continue;
        v = r->second[g.field].get<double>();
      }
      absl::StrAppend(&out, g.name, "{job=\"", job.id, "\",name=\"", label(job.job.name), "\"} ",
                      absl::StrFormat("%.9g", v), "\n");
    }
  }
  return out;
}

std::string job_progress_json(const std::string& runs_dir, int64_t id) {
  const std::map<std::string, json> records = last_records(absl::StrCat(runs_dir, "/", id, "/metrics.jsonl"));
  json out = json::object();
  for (const auto& [kind, field, name] : {std::tuple{"train", "step", "step"}, std::tuple{"train", "loss", "loss"},
                                          std::tuple{"epoch", "samples_per_s", "samples_per_second"},
                                          std::tuple{"eval", "accuracy", "eval_accuracy"}}) {
    auto r = records.find(kind);
    if (r != records.end() && r->second.contains(field) && r->second[field].is_number()) out[name] = r->second[field];
  }
  return out.dump();
}

}  // namespace ty::coordinator
