#include "worker/interrupts.h"

#include <atomic>
#include <csignal>

namespace ty {
namespace {
// Signal handlers can only reach process-wide state; a lock-free atomic so that taking the
// request (exchange) cannot lose a signal that arrives meanwhile.
std::atomic<int> g_request{0};
static_assert(std::atomic<int>::is_always_lock_free);

void on_signal(int sig) {
  const int want = sig == SIGTERM ? 2 : 1;
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
  sigaction(SIGUSR1, &sa, nullptr);
}

int take_interrupt_request() { return g_request.exchange(0); }

}  // namespace ty
