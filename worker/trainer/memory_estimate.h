// What training a model takes in memory per rank, estimated before the first step from the
// model's shapes: parameters and their gradients, optimizer state, and the activations of
// a batch (each layer's outputs, their gradients and what ops keep for backward). A run
// whose estimate exceeds the memory it has fails at once (exit 4) with the figures, instead
// of at some later step or in the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "models/model.h"

namespace ty {

struct MemoryEstimate {
  int64_t parameters = 0;                                                 // weights and gradients
  int64_t optimizer = 0;                                                  // momentum / Adam moments
  int64_t activations = 0;                                                // of one batch on this rank
  int64_t total() const { return parameters + optimizer + activations; }  // each at most 2^62
};

MemoryEstimate estimate_training_memory(Model& model, const OptimizerSpec& optimizer, int64_t samples_per_rank);

// OK when `e` fits in `available` bytes (`where`: "this rank's host memory", "cuda:0"); else
// ResourceExhausted with the estimate and what to lower.
absl::Status check_fits(const MemoryEstimate& e, int64_t available, const std::string& where);

// "1.5 GiB", "340 MiB"
std::string bytes_text(int64_t bytes);

}  // namespace ty
