#include "comm/rendezvous/collective_store.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ty::rendezvous {
namespace {

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

// Appends the pairs of `bytes` (u32 length, key, u32 length, value, ...) to `into`.
bool parse_pairs(const char* bytes, size_t n, std::map<std::string, std::string>& into) {
  size_t at = 0;
  auto take = [&](std::string& s) {
    uint32_t len = 0;
    if (n - at < 4) return false;
    std::memcpy(&len, bytes + at, 4);
    at += 4;
    if (n - at < len) return false;
    s.assign(bytes + at, len);
    at += len;
    return true;
  };
  while (at < n) {
    std::string k, v;
    if (!take(k) || !take(v)) return false;
    into[k] = v;
  }
  return true;
}

}  // namespace

absl::Status CollectiveStore::set(const std::string& key, const std::string& value) {
  if (key.empty()) return absl::InvalidArgumentError("rendezvous key: empty");
  pending_[key] = value;
  known_[key] = value;
  return absl::OkStatus();
}

std::string CollectiveStore::describe() const {
  return absl::StrCat("collective store over ", comm_.backend(), " group ", comm_.group());
}

absl::Status CollectiveStore::exchange() {
  std::string mine;
  for (const auto& [k, v] : pending_) {
    put_u32(mine, static_cast<uint32_t>(k.size()));
    mine += k;
    put_u32(mine, static_cast<uint32_t>(v.size()));
    mine += v;
  }
  pending_.clear();
  const int n = comm_.size();
  Tensor len = Tensor::empty(host_memory(), {1}, DType::kF64), lens = Tensor::empty(host_memory(), {n}, DType::kF64);
  len.set(0, static_cast<double>(mine.size()));
  if (absl::Status st = comm_.allgather(len, lens)->wait(); !st.ok()) return st;
  int64_t longest = 0;
  for (int r = 0; r < n; ++r) longest = std::max<int64_t>(longest, static_cast<int64_t>(lens.at(r)));
  if (longest == 0) return absl::OkStatus();
  Tensor block = Tensor::empty(host_memory(), {longest}, DType::kU8),
         all = Tensor::empty(host_memory(), {longest * n}, DType::kU8);
  std::memset(block.raw(), 0, static_cast<size_t>(longest));
  std::memcpy(block.raw(), mine.data(), mine.size());
  if (absl::Status st = comm_.allgather(block, all)->wait(); !st.ok()) return st;
  for (int r = 0; r < n; ++r)
    if (!parse_pairs(static_cast<const char*>(all.raw()) + r * longest, static_cast<size_t>(lens.at(r)), known_))
      return absl::UnavailableError(absl::StrCat(describe(), ": rank ", r, " sent malformed pairs"));
  return absl::OkStatus();
}

absl::Status CollectiveStore::wait(const std::vector<std::string>& keys, Clock::time_point) {
  if (absl::Status st = exchange(); !st.ok()) return st;
  std::vector<std::string> missing;
  for (const std::string& k : keys)
    if (!known_.count(k)) missing.push_back(k);
  if (!missing.empty())
    return absl::UnavailableError(
        absl::StrCat(describe(), ": no rank set ", absl::StrJoin(missing, ", "), " before this collective wait"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> CollectiveStore::get(const std::string& key, Clock::time_point deadline) {
  if (absl::Status st = wait({key}, deadline); !st.ok()) return st;
  return known_.at(key);
}

}  // namespace ty::rendezvous
