// rendezvous::Store: a small key-value store on bytes through which the ranks of a job
// find each other (NCCL's unique id, transport addresses) — set / get / wait with a
// deadline, as gloo's rendezvous store. The transports never know who runs the store:
//   FileStore        a directory every rank sees (file_store.h)
//   CollectiveStore  over a communicator the ranks already share, e.g. MPI's world
//                    (collective_store.h)
//   TcpStore         hosted by rank 0 (tcp_store.h)
//   HttpStore        the coordinator's, for ranks a worker daemon started (http_store.h)
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ty::rendezvous {

class Store {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Store() = default;
  // Sets `key` to `value` (a key is set once; setting it again replaces the value).
  virtual absl::Status set(const std::string& key, const std::string& value) = 0;
  // Waits until every key is set, or fails at `deadline` naming the keys still missing.
  virtual absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) = 0;
  // The value of `key`, waiting for it until `deadline`.
  virtual absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) = 0;
  // "file:///shared/dir", "collective over mpi world": for errors.
  virtual std::string describe() const = 0;
};

// For stores that poll: checks `keys` with `is_set` until all are set or `deadline` passes,
// backing off from 1 ms to 50 ms; the timeout names `store` and the keys still missing.
absl::Status poll_keys(const std::string& store, const std::vector<std::string>& keys,
                       Store::Clock::time_point deadline,
                       const std::function<absl::StatusOr<bool>(const std::string& key)>& is_set);

// The keys of `base` under `prefix` + "/" (a job id and attempt number, so that ranks of a
// stale attempt never meet those of a new one).
class PrefixStore final : public Store {
 public:
  PrefixStore(Store& base, std::string prefix) : base_(base), prefix_(std::move(prefix)) {}
  absl::Status set(const std::string& key, const std::string& value) override { return base_.set(full(key), value); }
  absl::Status wait(const std::vector<std::string>& keys, Clock::time_point deadline) override;
  absl::StatusOr<std::string> get(const std::string& key, Clock::time_point deadline) override {
    return base_.get(full(key), deadline);
  }
  std::string describe() const override { return base_.describe() + " under " + prefix_; }

 private:
  std::string full(const std::string& key) const { return prefix_ + "/" + key; }
  Store& base_;
  std::string prefix_;
};

}  // namespace ty::rendezvous
