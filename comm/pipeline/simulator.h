// Runs a schedule (schedule.h) on paper, the way the executor runs it: each stage walks its
// action list; a forward or backward takes its stage's time and waits for the receive it
// needs; a send or receive is posted to the stage's transfer queue without holding up the
// list. A queue runs one transfer at a time in the order posted (as a communicator does,
// see communicator.h), and a message moves — taking `transfer` seconds — only when its send
// and its receive both head their stages' queues (a send waits for its receive, as a large
// one does). Gives the step time, each stage's busy time and peak of live activations
// (micro-batches forwarded and not yet backwarded), and the bubble: the mean over stages of
// the share of the step a stage spends waiting on its neighbours. Lists that cannot finish
// are an error naming every stage that waits, and on what.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "comm/pipeline/schedule.h"

namespace ty::pipeline {

struct Simulation {
  double step_time = 0;
  std::vector<double> busy;    // [stage]: seconds of forwards and backwards
  std::vector<int> peak_live;  // [stage]: most micro-batches whose activations it held at once
  double bubble_fraction = 0;  // mean over stages of (step_time − busy) / step_time
};

// `forward` and `backward`: each stage's time for one micro-batch (P entries each).
absl::StatusOr<Simulation> simulate(const Schedule& schedule, const std::vector<double>& forward,
                                    const std::vector<double>& backward, double transfer = 0);

}  // namespace ty::pipeline
