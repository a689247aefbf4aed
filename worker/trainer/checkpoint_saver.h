// CheckpointSaver: writes checkpoints on a background thread. The training thread only
// hands over a snapshot (copies of the state tensors); a new save waits for the previous
// one; a failed save is reported by the next call.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "storage/checkpoint.h"

namespace ty {

class CheckpointSaver {
 public:
  CheckpointSaver(std::string run_dir, int rank, int world, int keep, std::chrono::milliseconds wait_for_ranks,
                  uint64_t run_nonce);
  ~CheckpointSaver();

  // Queues `snapshot` for step `step` after the previous save finished; returns that
  // previous save's status.
  absl::Status save(int64_t step, NamedTensors snapshot);
  // Waits for the save in flight; its status.
  absl::Status wait();
  // The first failure so far (OK while none), without waiting.
  absl::Status status();
  double seconds_writing() const { return seconds_writing_; }

 private:
  void loop();
  std::string run_dir_;
  int rank_, world_, keep_;
  std::chrono::milliseconds wait_for_ranks_;
  uint64_t run_nonce_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::pair<int64_t, NamedTensors>> pending_;
  bool busy_ = false, stop_ = false;
  absl::Status last_;
  double seconds_writing_ = 0;
  std::thread thread_;
};

}  // namespace ty
