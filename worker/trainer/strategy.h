// Strategy: how the ranks of a job share the work of each step. The train loop and the
// evaluator see only this interface; data parallelism (data_parallel.h) is the one there
// is, pipeline parallelism comes next.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "models/model.h"

namespace ty {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual int rank() const = 0;
  virtual int world() const = 0;
  bool leader() const { return rank() == 0; }

  // Before the first step: every rank's model state made equal (rank 0's).
  virtual absl::Status start(Model& model) = 0;
  // Around backward: gradients are shared as they become final, complete after.
  virtual void begin_backward() = 0;
  virtual absl::Status end_backward() = 0;
  // Before a backward whose gradients only add to the next ones (train.accumulate_steps):
  // nothing is shared until the next begin_backward().
  virtual void begin_local_backward() = 0;

  // Sum / maximum of host values over the ranks (metrics, decisions every rank must share).
  virtual absl::Status sum(std::vector<double>& values) = 0;
  virtual absl::Status max(std::vector<double>& values) = 0;

  // For the banner: ", mpi, 3 gradient buckets" ("" for one process).
  virtual std::string describe() const = 0;
  // At the end: how the communication went ("" when there was none).
  virtual std::string report() const = 0;
};

}  // namespace ty
