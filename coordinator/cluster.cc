#include "coordinator/cluster.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/placement.h"
#include "coordinator/token.h"

namespace ty::coordinator {
namespace {

// "exited 3", "killed by signal 9".
std::string how_it_ended(const RankReport& r) {
  return r.exit_code >= 0 ? absl::StrCat("exited ", r.exit_code) : absl::StrCat("killed by signal ", r.signal);
}

}  // namespace

Cluster::Cluster(JobStore& store, Options options)
    : store_(store), options_(std::move(options)), started_(Clock::now()) {}

std::string Cluster::log_path(int64_t job, int attempt, int rank) const {
  return absl::StrCat(options_.runs_dir, "/.logs/", job, "/", attempt, "/rank-", rank, ".log");
}

void Cluster::register_worker(const std::string& name, int slots, const std::vector<std::string>& gpus) {
  std::lock_guard<std::mutex> lock(mu_);
  Worker& w = workers_[name];
  w.slots = slots;
  w.gpus = gpus;
  w.reported = false;
  w.last_seen = Clock::now();
  w.lost = false;
}

int Cluster::busy_on(const std::string& worker, bool stopping) const {
  int n = 0;
  for (const auto& [key, a] : attempts_)
    for (const Rank& r : a.ranks) n += r.worker == worker && !r.gone && r.gpu.empty() && !(stopping && a.ended);
  return n;
}

std::vector<std::string> Cluster::busy_gpus(const std::string& worker, bool stopping) const {
  std::vector<std::string> out;
  for (const auto& [key, a] : attempts_)
    for (const Rank& r : a.ranks)
      if (r.worker == worker && !r.gone && !r.gpu.empty() && !(stopping && a.ended)) out.push_back(r.gpu);
  return out;
}

std::vector<FreeSlots> Cluster::capacity_for(const JobRecord& job, bool stopping) const {
  std::vector<FreeSlots> out;
  for (const auto& [name, w] : workers_) {
    if (w.lost || !w.reported) continue;
    if (job.job.gpus_per_rank > 0) {
      const int total = static_cast<int>(w.gpus.size());
      out.push_back({name, total - static_cast<int>(busy_gpus(name, stopping).size()), total});
    } else {
      out.push_back({name, w.slots - busy_on(name, stopping), w.slots});
    }
  }
  return out;
}

absl::StatusOr<Orders> Cluster::heartbeat(const std::string& name, const std::vector<RankReport>& reports,
                                          std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = workers_.find(name);
  if (it == workers_.end() || it->second.lost)
    return absl::NotFoundError(absl::StrCat("worker ", name, " is not registered (or was lost): register again"));
  it->second.last_seen = Clock::now();
  for (const RankReport& r : reports) on_report(name, r);
  it->second.reported = true;
  // A rank this worker was given but no longer reports, running or ended, vanished with
  // an earlier life of the worker (killed and restarted under its name).
  for (auto& [key, a] : attempts_)
    for (size_t i = 0; i < a.ranks.size(); ++i) {
      Rank& rank = a.ranks[i];
      if (rank.worker != name || !rank.delivered || rank.gone) continue;
      const bool listed = std::any_of(reports.begin(), reports.end(), [&](const RankReport& r) {
        return r.job == a.job && r.attempt == a.number && r.rank == static_cast<int>(i);
      });
      if (listed) continue;
      rank.gone = true;
      const std::string cause = absl::StrCat("rank ", i, " vanished from worker ", name, " (it restarted)");
      if (a.pending)
        decide_pending(a, true, cause);
      else if (!a.ended)
        end_attempt(a, kRestarting, cause, false);
    }
  reap();
  lock.unlock();
  tick();  // a rank that ended may free slots or decide a job
  lock.lock();
  orders_ready_.wait_for(lock, wait, [&] {
    auto w = workers_.find(name);
    return w == workers_.end() || !w->second.start.empty() || !w->second.kill.empty();
  });
  Orders out;
  if (auto w = workers_.find(name); w != workers_.end()) {
    out.start.swap(w->second.start);
    out.kill.swap(w->second.kill);
    w->second.last_seen = Clock::now();
  }
  for (const RankOrder& o : out.start)
    if (auto a = attempts_.find({o.job, o.attempt}); a != attempts_.end())
      a->second.ranks[static_cast<size_t>(o.rank)].delivered = true;
  return out;
}

void Cluster::on_report(const std::string& worker, const RankReport& r) {
  auto it = attempts_.find({r.job, r.attempt});
  if (it == attempts_.end()) {
    // A rank of an attempt this coordinator does not know: one it ran before a restart
    // (adopted, running or ended while the coordinator was away, when the job still runs
    // that attempt), else a leftover to kill.
    absl::StatusOr<std::optional<JobRecord>> job = store_.get(r.job);
    const bool current = job.ok() && *job && (*job)->state == kRunning && (*job)->attempt == r.attempt;
    if (!current) {
      if (r.running) workers_[worker].kill.push_back({r.job, r.attempt});
      return;
    }
    Attempt a;
    a.job = r.job;
    a.number = r.attempt;
    a.ranks.resize(static_cast<size_t>((*job)->job.ranks));
    a.since = started_;
    it = attempts_.emplace(Key{r.job, r.attempt}, std::move(a)).first;
  }
  Attempt& a = it->second;
  if (r.rank < 0 || r.rank >= static_cast<int>(a.ranks.size())) return;
  Rank& rank = a.ranks[static_cast<size_t>(r.rank)];
  rank.worker = worker;
  rank.reported = true;
  rank.delivered = true;  // it runs there: from now on, missing from a report means it vanished
  if (!r.gpu.empty()) rank.gpu = r.gpu;
  if (r.running) {
    // A rank that runs on after its attempt ended (a kill order lost, a worker back from
    // the dead): told again, every heartbeat, until it is gone.
    if (a.ended || rank.gone) kill_on(worker, a);
    return;
  }
  if (rank.gone) return;
  rank.gone = true;
  // A fate held for its grace gives way to the job's own fault, found in a later report
  // (a rank exits 2 while its peer's exit 3 came first).
  if (a.pending && (r.exit_code == 2 || r.exit_code == 4 || r.exit_code == 5)) {
    a.pending = false;
    a.ended = false;
  }
  // A held exit 3 names a symptom; the rank that died (a signal, exit 1) is the cause. (A
  // rank the coordinator's own kill stopped is not: it was told after the fate was held.)
  if (a.pending && a.pending_peer_loss && r.exit_code != 0 && r.exit_code != 3 && r.exit_code != 143) {
    a.pending_cause =
        absl::StrCat("rank ", r.rank, " on ", worker, " ", how_it_ended(r), r.tail.empty() ? "" : ":\n" + r.tail);
    a.pending_worker = worker;
    a.pending_peer_loss = false;
  }
  if (!a.ended) {
    // (Kills the coordinator orders come after a decided fate, a.ended: never seen here.)
    if (r.exit_code == 0) {
      if (std::all_of(a.ranks.begin(), a.ranks.end(), [](const Rank& x) { return x.gone; })) {
        a.ended = true;
        store_.stop_clock(a.job).IgnoreError();
        store_.transition(a.job, kSucceeded, "every rank exited 0").IgnoreError();
      }
    } else if (r.exit_code == 2 || r.exit_code == 4) {
      end_attempt(a, kFailed,
                  absl::StrCat("rank ", r.rank, " ", how_it_ended(r),
                               r.exit_code == 2 ? " (the job's fault: spec, data or usage)" : " (out of memory)",
                               r.tail.empty() ? "" : ":\n" + r.tail),
                  false);
    } else if (r.exit_code == 5) {
      end_attempt(a, kCanceled, absl::StrCat("rank ", r.rank, " exited 5 (canceled)"), false);
    } else {
      defer_end(
          a, worker,
          absl::StrCat("rank ", r.rank, " on ", worker, " ", how_it_ended(r), r.tail.empty() ? "" : ":\n" + r.tail),
          r.exit_code == 3);
    }
  }
}

void Cluster::send_kills(Attempt& a) {
  // Start orders not yet handed out are taken back: those ranks never run.
  for (size_t i = 0; i < a.ranks.size(); ++i) {
    Rank& r = a.ranks[i];
    if (r.gone || r.delivered || r.worker.empty()) continue;
    std::vector<RankOrder>& pending = workers_[r.worker].start;
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [&](const RankOrder& o) {
                                   return o.job == a.job && o.attempt == a.number && o.rank == static_cast<int>(i);
                                 }),
                  pending.end());
    r.gone = true;
  }
  std::set<std::string> told;
  for (const Rank& r : a.ranks)
    if (!r.gone && !r.worker.empty() && told.insert(r.worker).second) kill_on(r.worker, a);
  orders_ready_.notify_all();
}

void Cluster::kill_on(const std::string& worker, const Attempt& a) {
  std::vector<KillOrder>& kills = workers_[worker].kill;
  if (std::none_of(kills.begin(), kills.end(),
                   [&](const KillOrder& k) { return k.job == a.job && k.attempt == a.number; }))
    kills.push_back({a.job, a.number});
}

void Cluster::defer_end(Attempt& a, const std::string& worker, const std::string& cause, bool peer_loss) {
  a.ended = true;
  a.pending = true;
  a.pending_cause = cause;
  a.pending_worker = worker;
  a.pending_peer_loss = peer_loss;
  a.pending_since = Clock::now();
  send_kills(a);
}

void Cluster::decide_pending(Attempt& a, bool force_uncounted, const std::string& lost_cause) {
  if (!a.pending) return;
  a.pending = false;
  std::string silent;
  const auto now = Clock::now();
  for (const Rank& r : a.ranks) {
    auto w = workers_.find(r.worker);
    if (r.worker != a.pending_worker && w != workers_.end() && (w->second.lost || now - w->second.last_seen > kSilent))
      silent = r.worker;
  }
  a.ended = false;  // end_attempt decides it now
  if (force_uncounted)
    end_attempt(a, kRestarting, lost_cause, false);
  else if (!silent.empty())
    end_attempt(a, kRestarting, absl::StrCat("worker ", silent, " went silent; ", a.pending_cause), false);
  else
    end_attempt(a, kRestarting, a.pending_cause, true);
}

void Cluster::reap() {
  for (auto it = attempts_.begin(); it != attempts_.end();) {
    const Attempt& a = it->second;
    if (!a.pending && std::all_of(a.ranks.begin(), a.ranks.end(), [](const Rank& x) { return x.gone; })) {
      if (options_.attempt_gone) options_.attempt_gone(a.job, a.number);
      it = attempts_.erase(it);
    } else
      ++it;
  }
}

void Cluster::end_attempt(Attempt& a, const std::string& state, const std::string& cause, bool counted) {
  a.ended = true;
  store_.stop_clock(a.job).IgnoreError();
  std::string final_state = state, final_cause = cause;
  if (state == kRestarting) {
    absl::StatusOr<std::optional<JobRecord>> job = store_.get(a.job);
    const int restarts = job.ok() && *job ? (*job)->restarts + (counted ? 1 : 0) : 0;
    const int most = job.ok() && *job ? (*job)->job.max_restarts : 0;
    if (counted && restarts > most) {
      final_state = kFailed;
      final_cause = absl::StrCat(cause, "; failed after ", restarts - 1, " restarts (restart.max_restarts ", most, ")");
    } else if (job.ok() && *job) {
      store_.set_attempt(a.job, (*job)->attempt, restarts).IgnoreError();
      if (counted) final_cause = absl::StrCat(cause, " (restart ", restarts, " of ", most, ")");
    }
  }
  store_.transition(a.job, final_state, final_cause).IgnoreError();
  send_kills(a);
}

absl::Status Cluster::cancel(int64_t job) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, a] : attempts_)
    if (key.first == job && (!a.ended || a.pending)) {
      a.pending = false;
      end_attempt(a, kCanceled, "canceled by a user", false);
      return absl::OkStatus();
    }
  return store_.transition(job, kCanceled, "canceled by a user");
}

std::vector<WorkerView> Cluster::workers() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<WorkerView> out;
  for (const auto& [name, w] : workers_)
    out.push_back({name, w.slots, busy_on(name), w.gpus, static_cast<int>(busy_gpus(name).size()), w.lost,
                   std::chrono::duration<double>(Clock::now() - w.last_seen).count()});
  return out;
}

void Cluster::tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Clock::now();
  // Lost workers: their ranks are gone, their attempts end (not counted).
  for (auto& [name, w] : workers_) {
    if (w.lost || now - w.last_seen <= options_.worker_timeout) continue;
    w.lost = true;
    w.start.clear();
    w.kill.clear();
    const std::string cause =
        absl::StrCat("worker ", name, " lost (silent for ", options_.worker_timeout.count() / 1000.0, " s)");
    for (auto& [key, a] : attempts_) {
      bool hit = false;
      for (Rank& r : a.ranks)
        if (r.worker == name && !r.gone) r.gone = hit = true;
      if (!hit) continue;
      if (a.pending)
        decide_pending(a, true, cause);
      else if (!a.ended)
        end_attempt(a, kRestarting, cause, false);
    }
  }
  enforce_runtime();
  // Held fates whose grace has passed.
  for (auto& [key, a] : attempts_)
    if (a.pending && now - a.pending_since > kGrace) decide_pending(a, false, "");
  reap();
  // After a coordinator restart: running jobs whose ranks were not all reported in time.
  if (now - started_ > options_.worker_timeout) {
    absl::StatusOr<std::vector<JobRecord>> running = store_.running();
    if (running.ok())
      for (const JobRecord& j : *running) {
        auto it = attempts_.find({j.id, j.attempt});
        const bool complete =
            it != attempts_.end() && std::all_of(it->second.ranks.begin(), it->second.ranks.end(),
                                                 [](const Rank& r) { return r.reported || !r.worker.empty(); });
        if (it == attempts_.end()) {
          store_.transition(j.id, kRestarting, "its ranks were not reported after the coordinator restarted")
              .IgnoreError();
          if (options_.attempt_gone) options_.attempt_gone(j.id, j.attempt);  // its rendezvous keys
        } else if (!complete && !it->second.ended) {
          for (Rank& r : it->second.ranks)
            if (!r.reported && r.worker.empty()) r.gone = true;  // nobody runs them
          end_attempt(it->second, kRestarting, "some ranks were not reported after the coordinator restarted", false);
        }
      }
  }
  schedule();
}

void Cluster::schedule() {
  absl::StatusOr<std::vector<JobRecord>> waiting = store_.waiting();
  if (!waiting.ok()) return;
  for (auto it = preempting_.begin(); it != preempting_.end();)  // canceled while it waited
    it = std::any_of(waiting->begin(), waiting->end(), [&](const JobRecord& j) { return j.id == it->first; })
             ? std::next(it)
             : preempting_.erase(it);
  int64_t blocked_by = 0;  // the first job that waits for room: nothing behind it starts
  for (const JobRecord& job : *waiting) {
    // A restart waits until the last attempt's ranks are gone: the old rank 0 may still
    // write its checkpoint and hold the run directory.
    const auto out =
        std::find_if(attempts_.begin(), attempts_.end(), [&](const auto& kv) { return kv.first.first == job.id; });
    if (out != attempts_.end()) {
      const std::string reason = absl::StrCat("waiting for attempt ", out->first.second, "'s ranks to end");
      if (reason != job.reason) store_.set_reason(job.id, reason).IgnoreError();
      if (blocked_by == 0) blocked_by = job.id;
      continue;
    }
    std::string reason;
    std::optional<std::vector<RankPlace>> placed =
        place(job.job.ranks, job.job.ranks_per_worker, capacity_for(job, false), unit_of(job), &reason,
              job.job.pipeline_stages);
    const bool never = !placed && reason.rfind("can never fit", 0) == 0;
    if (blocked_by != 0 && !never)
      reason = absl::StrCat("waits for job ", blocked_by, ", ahead of it in the queue");
    else if (!placed && !never)
      if (const std::string why = preempt_for(job); !why.empty()) reason = absl::StrCat(reason, "; ", why);
    if (!placed || blocked_by != 0) {
      if (reason != job.reason) store_.set_reason(job.id, reason).IgnoreError();
      if (!never && blocked_by == 0) blocked_by = job.id;  // strict order: nothing overtakes it
      continue;                                            // (one that can never fit holds up nobody)
    }
    const int attempt = job.attempt + 1;
    Attempt a;
    a.job = job.id;
    a.number = attempt;
    a.since = Clock::now();
    std::map<std::string, std::vector<int>> by_worker;
    std::map<std::string, std::vector<std::string>> free_gpus;  // GPU ranks: the ids each worker has free
    if (job.job.gpus_per_rank > 0)
      for (const auto& [name, w] : workers_) {
        const std::vector<std::string> busy = busy_gpus(name);
        for (const std::string& g : w.gpus)
          if (std::find(busy.begin(), busy.end(), g) == busy.end()) free_gpus[name].push_back(g);
      }
    for (int r = 0; r < job.job.ranks; ++r) {
      const RankPlace& p = (*placed)[static_cast<size_t>(r)];
      std::string gpu;
      if (job.job.gpus_per_rank > 0) {
        gpu = free_gpus[p.worker].front();  // place() counted them: there is one
        free_gpus[p.worker].erase(free_gpus[p.worker].begin());
      }
      a.ranks.push_back({p.worker, gpu, false, false, false});
      by_worker[p.worker].push_back(r);
      RankOrder o;
      o.job = job.id;
      o.attempt = attempt;
      o.rank = r;
      o.world_size = job.job.ranks;
      o.local_rank = p.local_rank;
      o.local_world_size = p.local_world_size;
      o.name = job.job.name;
      o.spec = job.job.spec;
      o.overrides = job.job.overrides;
      o.run_dir = absl::StrCat(options_.runs_dir, "/", job.id);
      o.rendezvous_token = attempt_token(options_.token, job.id, attempt);
      o.log = log_path(job.id, attempt, r);
      o.gpu = gpu;
      workers_[p.worker].start.push_back(std::move(o));
    }
    std::vector<std::string> where;
    for (const auto& [w, ranks] : by_worker)
      where.push_back(absl::StrCat(w, " (", ranks.size() == 1 ? "rank " : "ranks ", absl::StrJoin(ranks, ","), ")"));
    preempting_.erase(job.id);
    store_.start_attempt(job.id, attempt, job.restarts).IgnoreError();
    store_.transition(job.id, kRunning, absl::StrCat("attempt ", attempt, " on ", absl::StrJoin(where, ", ")))
        .IgnoreError();
    attempts_.emplace(Key{job.id, attempt}, std::move(a));
    orders_ready_.notify_all();
  }
}

}  // namespace ty::coordinator
