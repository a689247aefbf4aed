// The coordinator's state in SQLite (WAL, synchronous=FULL): jobs and every state change
// with its time and cause. A submission is committed before submit() returns, so one the
// API acknowledged survives a crash of the coordinator at any moment; ids come from
// AUTOINCREMENT and are never reused. Safe to call from several threads (one connection
// behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct sqlite3;

namespace ty::coordinator {

// Job states: queued → running → succeeded | failed, with restarting between attempts, and
// canceled from any state that has not ended.
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kRestarting = "restarting";
inline constexpr const char* kSucceeded = "succeeded";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCanceled = "canceled";
bool is_final_state(const std::string& state);
int64_t unix_ms();

struct NewJob {
  std::string name;
  std::string spec;                    // the YAML as submitted
  std::vector<std::string> overrides;  // "key.path=value", applied in order
  int ranks = 1;
  int priority = 0;
  int ranks_per_worker = 0;  // 0: any
  int max_restarts = 3;
  int gpus_per_rank = 0;     // 1 for runtime.device: cuda
  double max_runtime_s = 0;  // resources.max_runtime_minutes × 60; 0: none
  int pipeline_stages = 1;   // parallel.pipeline.stages: placed a replica at a time (placement.h)
};

struct JobRecord {
  int64_t id = 0;
  NewJob job;
  std::string state, reason;
  int64_t submitted_ms = 0;  // Unix time
  int attempt = 0, restarts = 0;
  int64_t ran_ms = 0;              // time its ended attempts ran
  int64_t attempt_started_ms = 0;  // Unix time the running attempt started; 0 when none runs
  // Time it has run so far, the running attempt included.
  int64_t run_ms(int64_t now_ms) const { return ran_ms + (attempt_started_ms > 0 ? now_ms - attempt_started_ms : 0); }
};

// A rendezvous key of an attempt (coordinator/rendezvous.h).
struct RendezvousKey {
  int64_t job = 0;
  int attempt = 0;
  std::string key, value;
};

struct Transition {
  int64_t at_ms = 0;
  std::string state, cause;
};

class JobStore {
 public:
  // Opens (creating) the database at `path`.
  static absl::StatusOr<std::unique_ptr<JobStore>> open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Records `job` as queued with `reason`; its id once committed.
  absl::StatusOr<int64_t> submit(const NewJob& job, const std::string& reason);
  // Jobs by id, newest first, at most `limit`.
  absl::StatusOr<std::vector<JobRecord>> list(int limit);
  absl::StatusOr<std::optional<JobRecord>> get(int64_t id);
  absl::StatusOr<std::vector<Transition>> history(int64_t id);
  // Moves job `id` to `state` for `cause` (recorded); refused when the job has ended.
  absl::Status transition(int64_t id, const std::string& state, const std::string& cause);
  // The job's queue reason ("needs 4 slots, 3 free"); not a transition.
  absl::Status set_reason(int64_t id, const std::string& reason);
  // Its attempt number and counted restarts.
  absl::Status set_attempt(int64_t id, int attempt, int restarts);
  // Attempt `attempt` starts now (its run time counts from here).
  absl::Status start_attempt(int64_t id, int attempt, int restarts);
  // The running attempt's time is added to the job's run time; no attempt runs.
  absl::Status stop_clock(int64_t id);
  // Jobs waiting for ranks (queued or restarting): by priority, highest first, then by id.
  absl::StatusOr<std::vector<JobRecord>> waiting();
  // Jobs in a state with ranks out (running).
  absl::StatusOr<std::vector<JobRecord>> running();

  // Rendezvous keys, kept so that a coordinator restart mid-rendezvous loses none.
  absl::Status put_key(const RendezvousKey& k);
  // Every stored key of an attempt its job still runs; the others are deleted.
  absl::StatusOr<std::vector<RendezvousKey>> live_keys();
  absl::Status drop_keys(int64_t job, int attempt);

 private:
  explicit JobStore(sqlite3* db) : db_(db) {}
  absl::Status exec(const std::string& sql);
  // Jobs matching `where` (a WHERE and ORDER BY clause of constant text), at most `limit`
  // (-1: all).
  absl::StatusOr<std::vector<JobRecord>> select_jobs(const std::string& where, int64_t limit);
  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace ty::coordinator
