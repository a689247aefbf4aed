// The checkpoint policy: saves every N steps, a failed write fails, and the ranks' wishes
// combine by their maximum.
#include "worker/trainer/checkpoint_policy.h"

#include <thread>

#include "gtest/gtest.h"
#include "worker/trainer/data_parallel.h"

namespace ty {
namespace {

TEST(CheckpointPolicy, EveryNStepsAndFailedWrites) {
  CheckpointSpec spec;
  spec.every_steps = 4;
  CheckpointPolicy policy(spec);
  EXPECT_EQ(policy.after_step(3, false), StepAction::kContinue);
  EXPECT_EQ(policy.after_step(4, false), StepAction::kSave);
  EXPECT_EQ(policy.after_step(5, true), StepAction::kFail);
  CheckpointSpec never;
  CheckpointPolicy quiet(never);
  for (int64_t step = 1; step < 100; ++step) ASSERT_EQ(quiet.after_step(step, false), StepAction::kContinue);
}

TEST(CheckpointPolicy, EveryMinutesCountsFromTheLastSave) {
  CheckpointSpec spec;
  spec.every_minutes = 1e-6f;  // 60 microseconds
  CheckpointPolicy policy(spec);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(policy.after_step(1, false), StepAction::kSave);
  spec.every_minutes = 60;
  CheckpointPolicy hourly(spec);
  hourly.saved();
  EXPECT_EQ(hourly.after_step(1, false), StepAction::kContinue);
}

TEST(CheckpointPolicy, OneProcessAgreesWithItself) {
  DataParallel alone(nullptr, nullptr, 1 << 20);
  for (StepAction a : {StepAction::kContinue, StepAction::kSave, StepAction::kSaveAndStop, StepAction::kFail}) {
    auto agreed = agree(alone, a);
    ASSERT_TRUE(agreed.ok());
    EXPECT_EQ(*agreed, a);
  }
}

}  // namespace
}  // namespace ty
