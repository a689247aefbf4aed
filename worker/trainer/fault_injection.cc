#include "worker/trainer/fault_injection.h"

#include <csignal>
#include <cstdlib>

namespace ty {

void maybe_kill_self(int rank, int64_t step) {
  static const char* kill_rank = std::getenv("TRAINYARD_FAULT_KILL_RANK");
  static const char* kill_step = std::getenv("TRAINYARD_FAULT_KILL_STEP");
  if (kill_rank == nullptr || kill_step == nullptr) return;
  if (std::atoi(kill_rank) == rank && std::atoll(kill_step) == step) std::raise(SIGKILL);
}

}  // namespace ty
