// SIGTERM, SIGINT and SIGUSR1 (Slurm sends SIGTERM and SIGUSR1 before preemption and the
// time limit; Ctrl-C sends SIGINT): the handlers only set flags; the trainer checks them
// after each step, checkpoints, and stops (SIGTERM, a first SIGINT) or goes on (SIGUSR1).
// A second SIGINT ends the process at once, as Ctrl-C does by default.
#pragma once

namespace ty {

enum class InterruptRequest : int { kNone = 0, kCheckpoint = 1, kCheckpointAndStop = 2 };

void install_interrupt_handlers();
// Returns and clears the pending request.
InterruptRequest take_interrupt_request();
// The signal that asked this process to stop (SIGTERM or SIGINT), or 0.
int stop_signal();

}  // namespace ty
