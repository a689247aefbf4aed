#include "worker/trainer/checkpoint_policy.h"

#include <algorithm>
#include <vector>

#include "runtime/status.h"
#include "worker/trainer/interrupts.h"

namespace ty {

CheckpointPolicy::CheckpointPolicy(const CheckpointSpec& spec) : spec_(spec), last_save_(Clock::now()) {}

StepAction CheckpointPolicy::after_step(int64_t step, bool write_failed) {
  if (write_failed) return StepAction::kFail;
  StepAction want = StepAction::kContinue;
  switch (take_interrupt_request()) {
    case InterruptRequest::kCheckpointAndStop: want = StepAction::kSaveAndStop; break;
    case InterruptRequest::kCheckpoint: want = StepAction::kSave; break;
    case InterruptRequest::kNone: break;
  }
  const double minutes = std::chrono::duration<double>(Clock::now() - last_save_).count() / 60;
  const bool by_time = spec_.every_minutes > 0 && minutes >= spec_.every_minutes;
  const bool by_steps = spec_.every_steps > 0 && step % spec_.every_steps == 0;
  if (by_time || by_steps) want = std::max(want, StepAction::kSave);
  return want;
}

absl::StatusOr<StepAction> agree(Strategy& strategy, StepAction mine) {
  std::vector<double> v{static_cast<double>(mine)};
  TY_RETURN_IF_ERROR(strategy.max(v));
  return static_cast<StepAction>(static_cast<int>(v[0]));
}

}  // namespace ty
