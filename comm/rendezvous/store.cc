#include "comm/rendezvous/store.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty::rendezvous {

absl::Status poll_keys(const std::string& store, const std::vector<std::string>& keys,
                       Store::Clock::time_point deadline,
                       const std::function<absl::StatusOr<bool>(const std::string& key)>& is_set) {
  using Clock = Store::Clock;
  const auto t0 = Clock::now();
  auto nap = std::chrono::microseconds(1000);
  std::vector<std::string> missing = keys;
  for (;;) {
    std::vector<std::string> still;
    for (const std::string& k : missing) {
      absl::StatusOr<bool> set = is_set(k);
      if (!set.ok()) return set.status();
      if (!*set) still.push_back(k);
    }
    missing = std::move(still);
    if (missing.empty()) return absl::OkStatus();
    if (Clock::now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat(store, ": ", missing.size(), " key(s) not set after ",
                                                      std::chrono::duration<double>(Clock::now() - t0).count(),
                                                      " s: ", absl::StrJoin(missing, ", ")));
    std::this_thread::sleep_for(std::min<std::chrono::microseconds>(
        nap,
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()) + std::chrono::microseconds(1)));
    nap = std::min(nap * 2, std::chrono::microseconds(50000));
  }
}

absl::Status PrefixStore::wait(const std::vector<std::string>& keys, Clock::time_point deadline) {
  std::vector<std::string> full_keys;
  for (const std::string& k : keys) full_keys.push_back(full(k));
  return base_.wait(full_keys, deadline);
}

}  // namespace ty::rendezvous
