#include "models/layers/sleep.h"

#include <sys/prctl.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"

namespace ty {
namespace {
void sleep_ms(Context& ctx, double ms) {
  ctx.synchronize();  // (on a GPU: the time then follows the work queued before it)
  if (ms <= 0) return;
  // Woken when asked, not up to the default 50 µs of timer slack later.
  static thread_local const bool tight = prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) == 0;
  (void)tight;
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
}
}  // namespace

Var Sleep::forward(Context& ctx, const Var& x) {
  sleep_ms(ctx, forward_ms_);
  const double backward_ms = backward_ms_;
  return record_op(ctx, {x}, Var(x.value().clone()), [&ctx, x, backward_ms](const Tensor& dy) {
    sleep_ms(ctx, backward_ms);
    x.accumulate_grad(ctx, dy);
  });
}

std::string Sleep::describe() const { return absl::StrCat("sleep ", forward_ms_, " / ", backward_ms_, " ms"); }

namespace {
absl::Status build_sleep(LayerBuild&, const LayerSpec& l, const std::string&, Sequential& seq) {
  seq.add(std::make_unique<Sleep>(seq.out_shape(), l.forward_ms, l.backward_ms));
  return absl::OkStatus();
}
}  // namespace
TY_REGISTER_LAYER("sleep", build_sleep);

}  // namespace ty
