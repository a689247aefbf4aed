// When the train loop saves and stops. After each step every rank states what it wants —
// a save every `checkpoint.every_steps` steps or `every_minutes`, one asked by a signal
// (SIGUSR1: save; SIGTERM / Ctrl-C: save and stop), or failing the run because a write
// failed — and the ranks take the maximum, so that they all act alike.
#pragma once

#include <chrono>
#include <cstdint>

#include "absl/status/statusor.h"
#include "worker/job/spec.h"
#include "worker/trainer/strategy.h"

namespace ty {

// Ordered: the maximum over ranks is what every rank does.
enum class StepAction : int { kContinue = 0, kSave = 1, kSaveAndStop = 2, kFail = 3 };

class CheckpointPolicy {
 public:
  explicit CheckpointPolicy(const CheckpointSpec& spec);
  // This rank's wish after optimizer step `step`; `write_failed`: a checkpoint or metrics
  // write failed here.
  StepAction after_step(int64_t step, bool write_failed);
  // A save started now (restarts the every_minutes clock).
  void saved() { last_save_ = Clock::now(); }

 private:
  using Clock = std::chrono::steady_clock;
  CheckpointSpec spec_;
  Clock::time_point last_save_;
};

// The action every rank takes: the maximum of the ranks' wishes.
absl::StatusOr<StepAction> agree(Strategy& strategy, StepAction mine);

}  // namespace ty
