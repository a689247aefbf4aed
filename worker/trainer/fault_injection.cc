#include "worker/trainer/fault_injection.h"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace ty {
namespace {

// Whether the environment names this rank and step for fault `kind` (KILL, STALL).
bool due(const char* rank_var, const char* step_var, int rank, int64_t step) {
  const char* r = std::getenv(rank_var);
  const char* s = std::getenv(step_var);
  return r != nullptr && s != nullptr && std::atoi(r) == rank && std::atoll(s) == step;
}

int64_t current_step = -1;  // the step maybe_inject_fault() last saw (the train loop's thread)

}  // namespace

bool fault_injection_armed() {
  static const bool any = std::getenv("TRAINYARD_FAULT_KILL_RANK") || std::getenv("TRAINYARD_FAULT_STALL_RANK") ||
                          std::getenv("TRAINYARD_FAULT_STOP_RANK");
  return any;
}

void maybe_inject_fault(int rank, int64_t step) {
  if (!fault_injection_armed()) return;
  current_step = step;
  if (due("TRAINYARD_FAULT_KILL_RANK", "TRAINYARD_FAULT_KILL_STEP", rank, step)) std::raise(SIGKILL);
  if (due("TRAINYARD_FAULT_STALL_RANK", "TRAINYARD_FAULT_STALL_STEP", rank, step))
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

void maybe_stop_mid_step(int rank, int microbatch) {
  static const char* mb = std::getenv("TRAINYARD_FAULT_STOP_MICROBATCH");
  if (mb == nullptr || std::atoi(mb) != microbatch) return;
  if (due("TRAINYARD_FAULT_STOP_RANK", "TRAINYARD_FAULT_STOP_STEP", rank, current_step)) std::raise(SIGSTOP);
}

}  // namespace ty
