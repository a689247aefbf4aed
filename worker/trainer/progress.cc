#include "worker/trainer/progress.h"

#include <unistd.h>

#include <algorithm>

namespace ty {

ProgressLine::ProgressLine(FILE* out, int64_t epochs, int64_t steps_per_epoch, int64_t total_steps, int64_t every)
    : out_(out),
      tty_(out != nullptr && isatty(fileno(out)) != 0),
      // With train.max_steps the run may end in an earlier epoch: show the epochs it touches.
      epochs_(std::min(epochs, steps_per_epoch > 0 ? (total_steps + steps_per_epoch - 1) / steps_per_epoch : epochs)),
      steps_per_epoch_(steps_per_epoch),
      total_steps_(total_steps),
      every_(std::max<int64_t>(every, 1)),
      run_start_(Clock::now()) {}

void ProgressLine::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  samples_ = 0;
  epoch_start_ = Clock::now();
}

bool ProgressLine::due(int64_t step_in_epoch, int64_t global_step) const {
  if (out_ == nullptr) return false;
  if (step_in_epoch == steps_per_epoch_ || global_step == total_steps_) return true;
  return tty_ ? Clock::now() - last_draw_ >= std::chrono::milliseconds(100) : step_in_epoch % every_ == 0;
}

void ProgressLine::step(int64_t step_in_epoch, int64_t global_step, int64_t samples,
                        const std::function<double()>& loss) {
  samples_ += samples;
  ++run_steps_;
  if (!due(step_in_epoch, global_step)) return;
  const auto now = Clock::now();
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - epoch_start_).count();
  const double run_secs = std::chrono::duration<double>(now - run_start_).count();
  const double rate = secs > 0 ? samples_ / secs : 0;
  const double eta = run_steps_ > 0 ? run_secs / run_steps_ * std::max<int64_t>(total_steps_ - global_step, 0) : 0;
  const int eta_s = static_cast<int>(eta);
  std::fprintf(out_, "%sepoch %ld/%ld  step %ld/%ld  %.0f samples/s  loss %.4f  ETA %d:%02d:%02d%s",
               tty_ ? "\r\033[K" : "", static_cast<long>(epoch_ + 1), static_cast<long>(epochs_),
               static_cast<long>(step_in_epoch), static_cast<long>(steps_per_epoch_), rate, loss(), eta_s / 3600,
               eta_s / 60 % 60, eta_s % 60, tty_ ? "" : "\n");
  std::fflush(out_);
}

void ProgressLine::end_epoch() {
  if (out_ == nullptr) return;
  if (tty_) std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace ty
