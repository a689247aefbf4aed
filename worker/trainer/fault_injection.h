// Fault points for fault-injection tests: with TRAINYARD_FAULT_KILL_RANK=R and
// TRAINYARD_FAULT_KILL_STEP=S in the environment, rank R sends itself SIGKILL when it
// reaches optimizer step S; with TRAINYARD_FAULT_STALL_RANK=R and TRAINYARD_FAULT_STALL_STEP=S
// it stops answering there instead (alive, never calling the next collective), as a hung
// GPU or a stuck file system would; with TRAINYARD_FAULT_STOP_RANK=R,
// TRAINYARD_FAULT_STOP_STEP=S and TRAINYARD_FAULT_STOP_MICROBATCH=I a pipeline stage freezes
// itself (SIGSTOP) before micro-batch I's forward of that step, its neighbours mid-step.
// Unset (always, outside tests), nothing happens.
#pragma once

#include <cstdint>

namespace ty {

void maybe_inject_fault(int rank, int64_t step);
// Whether any fault is set in the environment. Checkpoints then commit before training goes
// on, so that a fault at a later step finds every earlier save complete (a save still being
// written when a fast test's SIGKILL lands would make what a resume finds a matter of timing).
bool fault_injection_armed();
void maybe_stop_mid_step(int rank, int microbatch);

}  // namespace ty
