#include "storage/stream/sigbus_guard.h"

#include <signal.h>

#include <mutex>

namespace ty::sigbus_internal {
namespace {

struct sigaction previous;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  if (sigjmp_buf* guard = current_guard()) siglongjmp(*guard, 1);
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction != nullptr) return previous.sa_sigaction(sig, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    return previous.sa_handler(sig);
  }
  signal(SIGBUS, SIG_DFL);  // the default action: the fault repeats and ends the process
}

}  // namespace

sigjmp_buf*& current_guard() {
  static thread_local sigjmp_buf* guard = nullptr;
  return guard;
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &previous);
  });
}

void unblock() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGBUS);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace ty::sigbus_internal
