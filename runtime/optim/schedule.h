// Learning-rate schedules: lr(step) for step = 0, 1, ... (the step about to be taken).
#pragma once

#include <cstdint>
#include <utility>

namespace ty {

enum class LrShape { kConstant, kStep, kCosine, kInverseSqrt };

struct ScheduleOptions {
  LrShape kind = LrShape::kConstant;
  int64_t step_size = 1000;  // step: multiply by gamma every step_size steps
  float gamma = 0.1f;
  float min_lr = 0.f;        // cosine: the floor reached at total_steps
  int64_t warmup_steps = 0;  // linear ramp from lr / warmup_steps up to lr, any kind
  // inverse_sqrt: lr · √(max(warmup_steps, 1) / (step + 1)) after the warm-up (the
  // Transformer paper's schedule, equal to lr where the warm-up ends).
};

class LrSchedule {
 public:
  LrSchedule(float base_lr, ScheduleOptions o, int64_t total_steps)
      : base_(base_lr), o_(std::move(o)), total_(total_steps) {}
  float lr(int64_t step) const;

 private:
  float base_;
  ScheduleOptions o_;
  int64_t total_;
};

}  // namespace ty
