// Reading a mapped file that shrank after it was mapped raises SIGBUS. run_guarded() turns
// that into a `false` return for the calling thread (sigsetjmp/siglongjmp from a SIGBUS
// handler installed once); a SIGBUS outside a guarded call goes to the handler that was
// there before, or kills the process as usual. The guarded function must not create
// objects whose destructors matter while it touches mapped memory.
#pragma once

#include <csetjmp>

namespace ty {

namespace sigbus_internal {
void install_handler();
void unblock();  // SIGBUS, for this thread
sigjmp_buf*& current_guard();
}  // namespace sigbus_internal

template <class F>
bool run_guarded(F&& f) {
  sigbus_internal::install_handler();
  sigjmp_buf env;
  // savemask 0 spares a sigprocmask system call per guarded call; the rare jump back from
  // the handler unblocks SIGBUS itself (a runtime that blocks it around handlers, such as
  // ThreadSanitizer's, would otherwise leave it blocked, and the next one would kill).
  if (sigsetjmp(env, 0) != 0) {
    sigbus_internal::current_guard() = nullptr;
    sigbus_internal::unblock();
    return false;
  }
  sigbus_internal::current_guard() = &env;
  f();
  sigbus_internal::current_guard() = nullptr;
  return true;
}

}  // namespace ty
