#include "comm/rendezvous/store.h"

namespace ty::rendezvous {

absl::Status PrefixStore::wait(const std::vector<std::string>& keys, Clock::time_point deadline) {
  std::vector<std::string> full_keys;
  for (const std::string& k : keys) full_keys.push_back(full(k));
  return base_.wait(full_keys, deadline);
}

}  // namespace ty::rendezvous
