// Gradient clipping by global L2 norm over all parameters' gradients.
#pragma once

#include <vector>

#include "runtime/autograd.h"

namespace ty {

// The sum of squares of every gradient, as a (1) f64 tensor in ctx's memory (not read).
Tensor grad_sum_squares(Context& ctx, const std::vector<Var>& params);

// Scales every gradient by max_norm / total_norm when total_norm > max_norm, with ctx's
// kernels (on a device the scaling needs no round trip to the host). Returns the norm
// before clipping (which waits for the device).
double clip_grad_norm(Context& ctx, const std::vector<Var>& params, double max_norm);

// The same, the norm's square being `sum_squares` ((1) f64 in ctx's memory): for a model
// whose parameters are spread over ranks (pipeline stages), the sum of every part's
// grad_sum_squares.
void clip_to_norm(Context& ctx, const std::vector<Var>& params, const Tensor& sum_squares, double max_norm);

}  // namespace ty
