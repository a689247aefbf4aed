// What ends a running job besides its ranks (cluster.h): preemption by a waiting job of
// higher priority, and resources.max_runtime_minutes.
#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/cluster.h"

namespace ty::coordinator {
std::string Cluster::preempt_for(const JobRecord& job) {
  std::string ignored;
  const char* unit = unit_of(job);
  std::vector<FreeSlots> room = capacity_for(job, /*stopping=*/true);
  // Room once the ranks already told to stop are gone: wait for them, preempt nobody more.
  if (place(job.job.ranks, job.job.ranks_per_worker, room, unit, &ignored, job.job.pipeline_stages)) {
    auto it = preempting_.find(job.id);
    return it != preempting_.end() ? it->second : "ranks told to stop will make room";
  }
  absl::StatusOr<std::vector<JobRecord>> running = store_.running();
  if (!running.ok()) return "";
  // Lower priorities first; among equals, the newest first (it has the least to lose).
  std::vector<JobRecord> lower;
  for (const JobRecord& r : *running)
    if (r.job.priority < job.job.priority) lower.push_back(r);
  std::sort(lower.begin(), lower.end(), [](const JobRecord& a, const JobRecord& b) {
    return a.job.priority != b.job.priority ? a.job.priority < b.job.priority : a.id > b.id;
  });
  // What the ranks of attempt `a` would free for `job` on each worker.
  auto freed_by = [&](const Attempt& a) {
    std::map<std::string, int> out;
    for (const Rank& rank : a.ranks)
      if (!rank.gone && rank.gpu.empty() == (job.job.gpus_per_rank == 0)) ++out[rank.worker];
    return out;
  };
  auto with = [&](std::vector<FreeSlots> r, const std::vector<Attempt*>& victims) {
    for (const Attempt* v : victims)
      for (const auto& [worker, n] : freed_by(*v))
        for (FreeSlots& f : r)
          if (f.worker == worker) f.free += n;
    return r;
  };
  // Usable room: at most ranks_per_worker of it on any one worker.
  auto usable = [&](const std::vector<FreeSlots>& r) {
    int n = 0;
    for (const FreeSlots& f : r)
      n += job.job.ranks_per_worker > 0 ? std::min(f.free, job.job.ranks_per_worker) : f.free;
    return n;
  };
  auto fits = [&](const std::vector<Attempt*>& victims) {
    return place(job.job.ranks, job.job.ranks_per_worker, with(room, victims), unit, &ignored, job.job.pipeline_stages)
        .has_value();
  };
  std::vector<Attempt*> victims;
  for (const JobRecord& r : lower) {
    auto it = attempts_.find({r.id, r.attempt});
    if (it == attempts_.end() || it->second.ended) continue;
    std::vector<Attempt*> more = victims;
    more.push_back(&it->second);
    if (usable(with(room, more)) <= usable(with(room, victims))) continue;  // frees nothing it could use
    victims = std::move(more);
    if (!fits(victims)) continue;
    // Fewest stops: a victim taken early that a later one made unneeded is spared.
    for (size_t i = victims.size() - 1; i-- > 0;) {
      std::vector<Attempt*> fewer = victims;
      fewer.erase(fewer.begin() + static_cast<long>(i));
      if (fits(fewer)) victims = std::move(fewer);
    }
    // Preempted: they checkpoint on SIGTERM and go back to the queue; not a failure, not counted.
    std::vector<int64_t> ids;
    for (Attempt* v : victims) {
      end_attempt(*v, kQueued, absl::StrCat("preempted by job ", job.id, " (priority ", job.job.priority, ")"), false);
      ids.push_back(v->job);
    }
    return preempting_[job.id] = absl::StrCat("preempted lower-priority job", ids.size() > 1 ? "s " : " ",
                                              absl::StrJoin(ids, ", "), ", checkpointing");
  }
  return "";
}

void Cluster::enforce_runtime() {
  const int64_t now = unix_ms();
  for (auto& [key, a] : attempts_) {
    if (a.ended) continue;
    absl::StatusOr<std::optional<JobRecord>> job = store_.get(a.job);
    if (!job.ok() || !*job || (*job)->job.max_runtime_s <= 0 || (*job)->attempt != a.number ||
        (*job)->run_ms(now) <= (*job)->job.max_runtime_s * 1000)
      continue;
    end_attempt(a, kFailed,
                absl::StrCat("ran past resources.max_runtime_minutes (", (*job)->job.max_runtime_s / 60,
                             " min): stopped with a checkpoint"),
                false);
  }
}

}  // namespace ty::coordinator
