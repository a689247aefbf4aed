// SIGTERM and SIGUSR1 (Slurm sends them before preemption and the time limit): the
// handlers only set flags; the trainer checks them after each step, checkpoints, and
// stops (SIGTERM) or goes on (SIGUSR1).
#pragma once

namespace ty {

void install_interrupt_handlers();
// Returns and clears the request: 0 none, 1 checkpoint (SIGUSR1), 2 checkpoint and stop (SIGTERM).
int take_interrupt_request();

}  // namespace ty
