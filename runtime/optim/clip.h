// Gradient clipping by global L2 norm over all parameters' gradients.
#pragma once

#include <vector>

#include "runtime/autograd.h"

namespace ty {

// Scales every gradient by max_norm / total_norm when total_norm > max_norm.
// Returns the norm before clipping.
double clip_grad_norm(const std::vector<Var>& params, double max_norm);

}  // namespace ty
