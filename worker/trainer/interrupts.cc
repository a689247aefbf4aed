#include "worker/trainer/interrupts.h"

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <thread>

namespace ty {
namespace {

std::atomic<int> g_request{0};
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_armed{false};

sigset_t watched() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  return set;
}

// The default effect of `sig` (ending the process), from the watcher thread.
[[noreturn]] void default_effect(int sig) {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  raise(sig);
  std::_Exit(128 + sig);  // not reached
}

void on_signal(int sig) {
  const bool stop = sig == SIGTERM || sig == SIGINT;
  if (!g_armed.load() || (sig == SIGINT && g_stop_signal.load() == SIGINT)) default_effect(sig);
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

void start_interrupt_watcher() {
  const sigset_t set = watched();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A child (MPI's singleton daemon, a spawned program) starts with the signals unblocked.
  pthread_atfork(nullptr, nullptr, [] {
    const sigset_t s = watched();
    pthread_sigmask(SIG_UNBLOCK, &s, nullptr);
  });
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) == 0) on_signal(sig);
    }
  }).detach();
}

void arm_interrupts() { g_armed.store(true); }
void disarm_interrupts() { g_armed.store(false); }

InterruptRequest take_interrupt_request() { return static_cast<InterruptRequest>(g_request.exchange(0)); }

int stop_signal() { return g_stop_signal.load(); }

}  // namespace ty
