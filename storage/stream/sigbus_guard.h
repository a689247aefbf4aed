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
sigjmp_buf*& current_guard();
}  // namespace sigbus_internal

template <class F>
bool run_guarded(F&& f) {
  sigbus_internal::install_handler();
  sigjmp_buf env;
  // The handler runs with SA_NODEFER (SIGBUS stays unblocked), so there is no signal mask
  // to restore: savemask 0 spares a sigprocmask system call per guarded call.
  if (sigsetjmp(env, 0) != 0) {
    sigbus_internal::current_guard() = nullptr;
    return false;
  }
  sigbus_internal::current_guard() = &env;
  f();
  sigbus_internal::current_guard() = nullptr;
  return true;
}

}  // namespace ty
