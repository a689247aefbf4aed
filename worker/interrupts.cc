#include "worker/interrupts.h"

#include <atomic>
#include <csignal>

namespace ty {
namespace {
// Signal handlers can only reach process-wide state; lock-free atomics so that taking the
// request (exchange) cannot lose a signal that arrives meanwhile.
std::atomic<int> g_request{0};
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

void on_signal(int sig) {
  if (sig == SIGINT && g_stop_signal.load() == SIGINT) {  // a second Ctrl-C: stop now
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, nullptr);
    raise(SIGINT);
    return;
  }
  const bool stop = sig == SIGTERM || sig == SIGINT;
  if (stop) {
    int none = 0;
    g_stop_signal.compare_exchange_strong(none, sig);
  }
  const int want = static_cast<int>(stop ? InterruptRequest::kCheckpointAndStop : InterruptRequest::kCheckpoint);
  int cur = g_request.load();
  while (want > cur && !g_request.compare_exchange_weak(cur, want)) {
  }
}
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

InterruptRequest take_interrupt_request() { return static_cast<InterruptRequest>(g_request.exchange(0)); }

int stop_signal() { return g_stop_signal.load(); }

}  // namespace ty
