#include "coordinator/placement.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ty::coordinator {

namespace {

// Each rank's worker (index into `workers`), a replica of `stages` ranks at a time.
std::vector<size_t> place_replicas(int ranks, int stages, const std::vector<FreeSlots>& workers,
                                   std::vector<int> room) {
  std::vector<int> replicas(workers.size(), 0);  // of this job, per worker
  std::vector<size_t> out;
  for (int first = 0; first < ranks; first += stages) {
    std::optional<size_t> whole;
    for (size_t w = 0; w < workers.size(); ++w) {
      if (room[w] < stages) continue;
      if (!whole || replicas[w] < replicas[*whole] || (replicas[w] == replicas[*whole] && room[w] > room[*whole]))
        whole = w;
    }
    if (whole) {
      out.insert(out.end(), static_cast<size_t>(stages), *whole);
      room[*whole] -= stages;
      ++replicas[*whole];
      continue;
    }
    for (int placed = 0; placed < stages;) {  // cut over the roomiest workers
      const size_t w = static_cast<size_t>(std::max_element(room.begin(), room.end()) - room.begin());
      const int take = std::min(room[w], stages - placed);
      out.insert(out.end(), static_cast<size_t>(take), w);
      room[w] -= take;
      placed += take;
      ++replicas[w];
    }
  }
  return out;
}

}  // namespace

std::optional<std::vector<RankPlace>> place(int ranks, int per_worker, std::vector<FreeSlots> workers,
                                            const std::string& unit, std::string* reason, int stages) {
  auto usable = [&](int slots) { return per_worker > 0 ? std::min(slots, per_worker) : slots; };
  int capacity = 0, free = 0;
  for (const FreeSlots& w : workers) {
    capacity += usable(w.total);
    free += usable(w.free);
  }
  if (capacity < ranks) {
    *reason = absl::StrCat("can never fit: needs ", ranks, " ", unit,
                           per_worker > 0 ? absl::StrCat(" (at most ", per_worker, " per worker)") : "",
                           ", the registered workers have ", capacity);
    return std::nullopt;
  }
  if (free < ranks) {
    *reason = absl::StrCat("needs ", ranks, " ", unit, ", ", free, " free");
    return std::nullopt;
  }
  // Most free slots first (then by name, so that placement is reproducible).
  std::sort(workers.begin(), workers.end(), [](const FreeSlots& a, const FreeSlots& b) {
    return a.free != b.free ? a.free > b.free : a.worker < b.worker;
  });
  std::vector<RankPlace> out;
  if (stages > 1 && ranks % stages == 0) {
    std::vector<int> room;
    for (const FreeSlots& w : workers) room.push_back(usable(w.free));
    const std::vector<size_t> at = place_replicas(ranks, stages, workers, room);
    std::vector<int> count(workers.size(), 0), next(workers.size(), 0);
    for (size_t w : at) ++count[w];
    for (size_t w : at) out.push_back({workers[w].worker, next[w]++, count[w]});
  } else {
    for (const FreeSlots& w : workers) {
      const int take = std::min(usable(w.free), ranks - static_cast<int>(out.size()));
      for (int i = 0; i < take; ++i) out.push_back({w.worker, i, take});
      if (static_cast<int>(out.size()) == ranks) break;
    }
  }
  reason->clear();
  return out;
}

}  // namespace ty::coordinator
