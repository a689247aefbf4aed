#include "comm/arrivals.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty {

Arrivals::Arrivals(std::shared_ptr<rendezvous::Store> store, std::string group, int rank, int size,
                   std::chrono::milliseconds grace)
    : store_(std::move(store)), group_(std::move(group)), rank_(rank), size_(size), grace_(grace) {}

std::shared_ptr<Arrivals> Arrivals::for_group(std::string group, int rank, int size) const {
  return std::make_shared<Arrivals>(store_, std::move(group), rank, size, grace_);
}

absl::Status Arrivals::explain(const absl::Status& timeout, uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!explained_) explained_ = absent_ranks(seq);
  return absl::Status(timeout.code(), absl::StrCat(timeout.message(), *explained_));
}

std::string Arrivals::absent_ranks(uint64_t seq) {
  if (absl::Status st = store_->set(key(rank_), std::to_string(seq)); !st.ok())
    return absl::StrCat(" (could not tell which rank is missing: ", st.message(), ")");
  const auto deadline = rendezvous::Store::Clock::now() + grace_;
  std::vector<int> absent, waiting{rank_};
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    absl::StatusOr<std::string> posted = store_->get(key(r), deadline);
    uint64_t at = 0;
    if (posted.ok() && absl::SimpleAtoi(*posted, &at) && at >= seq)
      waiting.push_back(r);
    else
      absent.push_back(r);
  }
  std::sort(waiting.begin(), waiting.end());
  auto ranks = [](const std::vector<int>& r, const char* one, const char* many) {
    return absl::StrCat(r.size() > 1 ? "ranks " : "rank ", absl::StrJoin(r, ", "), r.size() > 1 ? many : one);
  };
  if (absent.empty())
    return absl::StrCat("; every rank of the group reached it (", ranks(waiting, " waits", " wait"), " in it)");
  return absl::StrCat("; ", ranks(absent, " has", " have"), " not reached it (stuck or gone; ",
                      ranks(waiting, " waits", " wait"), " in it)");
}

}  // namespace ty
