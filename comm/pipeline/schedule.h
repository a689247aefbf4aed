// A pipeline schedule as data: for each of P stages, the list of actions its rank runs in
// one optimizer step over M micro-batches — forward or backward of micro-batch i, and the
// sends and receives of activations (forward, to the next stage) and their gradients
// (backward, to the previous one). Built up front, validated, simulated (simulator.h); the
// executor only walks its rank's list. As PyTorch's torch/distributed/pipelining.
//
//   GPipe   every forward, then every backward (in the same micro-batch order): each stage
//           holds all M micro-batches' activations at the flush.
//   1F1B    stage s runs min(P − 1 − s, M) warm-up forwards, then alternates one forward and
//           one backward, then drains the backwards: at most min(P − s, M) activations live.
//           In the steady state a stage posts its receive of gradient i before it sends
//           activation warm + i: its neighbour sends and receives them in that order, and a
//           rank's transfers run one at a time in the order posted.
//
// Both take (M + P − 1)(t_f + t_b) per step on uniform stages; the bubble, the time a stage
// waits on its neighbours, is (P − 1)/(M + P − 1) of it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace ty::pipeline {

enum class ScheduleKind { kGPipe, kOneFOneB };

enum class ActionKind {
  kForward,         // forward of a micro-batch through this stage's layers
  kBackward,        // its backward (the last stage computes the loss first)
  kSendActivation,  // this stage's output to stage + 1
  kRecvActivation,  // the input from stage − 1
  kSendGradient,    // the gradient of this stage's input to stage − 1
  kRecvGradient,    // the gradient of this stage's output from stage + 1
};

struct Action {
  ActionKind kind;
  int microbatch;
  bool operator==(const Action&) const = default;
};

struct Schedule {
  ScheduleKind kind = ScheduleKind::kOneFOneB;
  int stages = 1, microbatches = 1;
  std::vector<std::vector<Action>> actions;  // [stage]: in the order its rank runs them
};

// The schedule of `kind` for `stages` P ≥ 1 and `microbatches` M ≥ 1.
Schedule build_schedule(ScheduleKind kind, int stages, int microbatches);

// Checks that every stage forwards and backwards each micro-batch exactly once, a backward
// after its forward; that each transfer happens once, a receive before the compute that
// needs it and a send after the compute that makes it; that stage 0 receives no activation
// and the last stage sends none (and the same for gradients); and that each send has exactly
// one matching receive on the neighbour, and each receive a send. The error names the stage, the action and the
// micro-batch. (Whether the lists can run without deadlock is the simulator's to say.)
absl::Status validate(const Schedule& schedule);

// "forward mb 3", "send activation mb 0": for errors and traces.
std::string describe(const Action& action);
const char* name_of(ScheduleKind kind);  // "gpipe", "1f1b"

}  // namespace ty::pipeline
