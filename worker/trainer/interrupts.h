// SIGTERM, SIGINT and SIGUSR1 (Slurm sends SIGTERM and SIGUSR1 before preemption and the
// time limit; Ctrl-C sends SIGINT). Once a run is armed, the trainer checks the requests
// after each step, checkpoints, and stops (SIGTERM, a first SIGINT) or goes on (SIGUSR1);
// a second SIGINT ends the process at once, as Ctrl-C does by default. Before a run is
// armed (spec parsing, data loading) each signal has its default effect.
//
// The signals are taken by one watcher thread (sigwait), never by a computing thread: a
// signal frame pushed onto the stack of the interrupted training thread was seen to corrupt
// the heap (a checkpoint after SIGTERM or SIGUSR1 aborted in malloc in about 1 run of 4;
// never with the handler on an alternate stack; the interrupted code is mostly oneDNN's JIT
// kernels). So the signals stay blocked in every thread but the watcher.
#pragma once

namespace ty {

enum class InterruptRequest : int { kNone = 0, kCheckpoint = 1, kCheckpointAndStop = 2 };

// Blocks the three signals in this thread and every thread created after it, and starts
// the watcher. Call first thing in main(), before any other thread exists. A process that
// execs another program must unblock them in the child.
void start_interrupt_watcher();
// From now on the signals become requests instead of ending the process; disarm_interrupts()
// gives them back their default effect (after the train loop, when nothing reads requests).
void arm_interrupts();
void disarm_interrupts();
// Returns and clears the pending request.
InterruptRequest take_interrupt_request();
// The signal that asked this process to stop (SIGTERM or SIGINT), or 0.
int stop_signal();

}  // namespace ty
