// Cluster: the coordinator's live view — its workers and the ranks of every attempt still
// out — and what follows from it: gang scheduling, the orders each worker takes with its
// heartbeat, and each job's fate when ranks end (DESIGN.md's exit classes):
//   every rank exits 0                     → succeeded
//   a rank exits 2 or 4 (user, memory)     → failed at once, with the rank's last lines
//   exits 1 or 3, dies by a signal, or 143 without a SIGTERM of ours
//                                          → restarting, counted; failed past max_restarts —
//                                            decided kGrace (3 s) later: when a worker of the
//                                            attempt has gone silent by then, the rank only
//                                            reported the loss of a peer on it, and the
//                                            restart is a worker loss
//   its worker goes silent (worker_timeout), or a rank vanishes from its worker's reports
//                                          → restarting, not counted
//   a cancel                               → canceled
//   preempted by a job of higher priority  → queued again, not counted
//   past resources.max_runtime_minutes     → failed (its ranks checkpoint on SIGTERM)
// An ended attempt's other ranks are killed; their slots count as taken until their worker
// reports them gone (or is lost), so no slot is ever given twice. After a restart of the
// coordinator, workers re-register and report their running ranks, which are adopted; an
// attempt whose ranks are not all reported within worker_timeout is restarted.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/job_store.h"
#include "coordinator/placement.h"

namespace ty::coordinator {

struct RankReport {
  int64_t job = 0;
  int attempt = 0, rank = 0;
  bool running = true;  // else it ended:
  int exit_code = -1;   // its exit status, or -1 when a signal ended it
  int signal = 0;
  std::string tail;  // its last output lines
  std::string gpu;   // the GPU it was given ("" for none)
};

struct RankOrder {
  int64_t job = 0;
  int attempt = 0, rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string name, spec;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string rendezvous_token;  // the attempt's: opens its keys of the coordinator's store
  std::string log;  // where its output goes: RUNS_DIR/.logs/<job>/<attempt>/rank-R.log
  std::string gpu;  // its GPU on the worker (CUDA_VISIBLE_DEVICES); "" for a CPU rank
};

struct KillOrder {
  int64_t job = 0;
  int attempt = 0;
};

struct Orders {
  std::vector<RankOrder> start;
  std::vector<KillOrder> kill;
};

struct WorkerView {
  std::string name;
  int slots = 0, busy = 0;
  std::vector<std::string> gpus;
  int busy_gpus = 0;
  bool lost = false;
  double seen_s_ago = 0;
};

class Cluster {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds worker_timeout{5000};
    std::string runs_dir;  // RUNS_DIR/<job id>/ is each job's run directory
    std::string token;     // the coordinator's: attempt tokens derive from it
    // Called (under the cluster's lock) when an attempt's ranks are all gone.
    std::function<void(int64_t job, int attempt)> attempt_gone;
  };
  Cluster(JobStore& store, Options options);
  // Where rank `rank` of attempt `attempt` of job `job` writes its output (shared storage:
  // the workers write it, the coordinator serves it).
  std::string log_path(int64_t job, int attempt, int rank) const;

  // A worker (re)starts with `slots` CPU rank slots and `gpus` (their ids, as
  // CUDA_VISIBLE_DEVICES names them); one that takes a lost worker's name takes its place.
  void register_worker(const std::string& name, int slots, const std::vector<std::string>& gpus = {});
  // Takes a worker's reports and returns its orders, waiting up to `wait` for some.
  absl::StatusOr<Orders> heartbeat(const std::string& name, const std::vector<RankReport>& reports,
                                   std::chrono::milliseconds wait);
  // Finds lost workers and places waiting jobs; the coordinator calls it a few times a second.
  void tick();
  // Cancels a job: queued ones at once, running ones by killing their ranks.
  absl::Status cancel(int64_t job);
  std::vector<WorkerView> workers();

 private:
  struct Rank {
    std::string worker;
    std::string gpu;         // "" for a CPU rank (it takes a slot)
    bool reported = false;   // a worker has said it runs (adoption after a restart)
    bool delivered = false;  // its start order went out with a heartbeat
    bool gone = false;       // exited, or its worker was lost
  };
  struct Attempt {
    int64_t job = 0;
    int number = 0;
    std::vector<Rank> ranks;
    bool ended = false;  // its fate is decided (or about to be); the rest are being killed
    Clock::time_point since;
    // A rank failure whose count waits for kGrace (see above).
    bool pending = false;
    std::string pending_cause, pending_worker;
    bool pending_peer_loss = false;  // its cause is an exit 3 (a rank that lost a peer)
    Clock::time_point pending_since;
  };
  struct Worker {
    int slots = 0;
    std::vector<std::string> gpus;
    Clock::time_point last_seen;
    bool lost = false;
    // It has reported its ranks since it registered: until then its capacity is not offered
    // (after a coordinator restart, ranks it still runs hold some).
    bool reported = false;
    std::vector<RankOrder> start;
    std::vector<KillOrder> kill;
  };
  using Key = std::pair<int64_t, int>;  // (job, attempt)

  // A held fate waits kGrace; a worker whose last heartbeat is older than kSilent by then
  // is taken for dead (heartbeats come at least every ~1 s: a long poll of up to 1 s).
  static constexpr auto kGrace = std::chrono::milliseconds(3000);
  static constexpr auto kSilent = std::chrono::milliseconds(2000);
  // Queues a kill of attempt `a` for `worker`, once.
  void kill_on(const std::string& worker, const Attempt& a);
  void on_report(const std::string& worker, const RankReport& r);
  // Kills the attempt's other ranks and holds its fate for kGrace.
  void defer_end(Attempt& a, const std::string& worker, const std::string& cause, bool peer_loss);
  // Decides a held fate: a worker of the attempt silent now → not counted.
  void decide_pending(Attempt& a, bool force_uncounted, const std::string& lost_cause);
  void send_kills(Attempt& a);
  // Erases attempts whose ranks are all gone and whose fate is decided.
  void reap();
  // Decides attempt `a`'s fate: the job goes to `state` for `cause`; the other ranks are killed.
  void end_attempt(Attempt& a, const std::string& state, const std::string& cause, bool counted);
  void schedule();
  // For `job`, which does not fit: when ranks told to stop will make room, nothing; else
  // preempts running jobs of lower priority (lowest first, then newest) when stopping them
  // makes room. What it did, for the job's reason ("" when nothing helps).
  std::string preempt_for(const JobRecord& job);
  // Ends attempts that ran past their job's resources.max_runtime_minutes.
  void enforce_runtime();
  // The capacity for `job` (slots, or GPUs when its ranks need one) on each live worker;
  // `stopping` counts the ranks of ended attempts (their slots free soon) as free.
  std::vector<FreeSlots> capacity_for(const JobRecord& job, bool stopping) const;
  // What a rank of `job` takes on a worker, for reasons ("needs 4 GPUs, 3 free").
  static const char* unit_of(const JobRecord& job) { return job.job.gpus_per_rank > 0 ? "GPUs" : "slots"; }
  // CPU ranks on `worker` (slots taken), and the GPUs its ranks hold.
  int busy_on(const std::string& worker, bool stopping = false) const;
  std::vector<std::string> busy_gpus(const std::string& worker, bool stopping = false) const;

  JobStore& store_;
  Options options_;
  Clock::time_point started_;
  std::mutex mu_;
  std::condition_variable orders_ready_;
  std::map<std::string, Worker> workers_;
  std::map<Key, Attempt> attempts_;
  std::map<int64_t, std::string> preempting_;  // a waiting job → what it preempted (its reason)
};

}  // namespace ty::coordinator
