// The progress line: on a terminal, one line rewritten in place (epoch, step/steps,
// samples/s, loss, ETA); elsewhere (logs, CI), a plain line every `every` steps.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>

namespace ty {

class ProgressLine {
 public:
  // `out` null: silent (ranks other than 0).
  ProgressLine(FILE* out, int64_t epochs, int64_t steps_per_epoch, int64_t total_steps, int64_t every);
  void start_epoch(int64_t epoch);
  // After each optimizer step; `loss` is called only when the line is drawn (reading a
  // loss on a GPU waits for the step).
  void step(int64_t step_in_epoch, int64_t global_step, int64_t samples, const std::function<double()>& loss);
  void end_epoch();

 private:
  bool due(int64_t step_in_epoch, int64_t global_step) const;
  using Clock = std::chrono::steady_clock;
  FILE* out_;
  bool tty_;
  int64_t epochs_, steps_per_epoch_, total_steps_, every_;
  int64_t epoch_ = 0, samples_ = 0;
  Clock::time_point epoch_start_, run_start_, last_draw_;
  int64_t run_steps_ = 0;
};

}  // namespace ty
