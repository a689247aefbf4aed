#include "worker/interrupts.h"

#include <csignal>

namespace ty {
namespace {
// Signal handlers can only reach process-wide state.
volatile std::sig_atomic_t g_request = 0;

void on_signal(int sig) {
  const int want = sig == SIGTERM ? 2 : 1;
  if (want > g_request) g_request = want;
}
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

int take_interrupt_request() {
  const int r = g_request;
  g_request = 0;
  return r;
}

}  // namespace ty
