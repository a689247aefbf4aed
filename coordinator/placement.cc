#include "coordinator/placement.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ty::coordinator {

std::optional<std::vector<RankPlace>> place(int ranks, int per_worker, std::vector<FreeSlots> workers,
                                            const std::string& unit, std::string* reason) {
  auto usable = [&](int slots) { return per_worker > 0 ? std::min(slots, per_worker) : slots; };
  int capacity = 0, free = 0;
  for (const FreeSlots& w : workers) {
    capacity += usable(w.total);
    free += usable(w.free);
  }
  if (capacity < ranks) {
    *reason = absl::StrCat("can never fit: needs ", ranks, " ", unit, per_worker > 0 ? absl::StrCat(" (at most ", per_worker, " per worker)") : "",
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
  for (const FreeSlots& w : workers) {
    const int take = std::min(usable(w.free), ranks - static_cast<int>(out.size()));
    for (int i = 0; i < take; ++i) out.push_back({w.worker, i, take});
    if (static_cast<int>(out.size()) == ranks) break;
  }
  reason->clear();
  return out;
}

}  // namespace ty::coordinator
