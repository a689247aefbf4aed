// Sleep: any shape, unchanged; waits `forward_ms` in its forward and `backward_ms` in its
// backward, sleeping rather than computing. A stage of known, steady cost for timing
// pipeline schedules against their simulation (on a machine with fewer cores than ranks,
// spinning stages would slow each other down; sleeping ones do not).
#pragma once

#include "models/layer_registry.h"

namespace ty {

class Sleep final : public Layer {
 public:
  Sleep(const Shape& in, double forward_ms, double backward_ms) : forward_ms_(forward_ms), backward_ms_(backward_ms) {
    out_shape_ = in;
  }
  Var forward(Context& ctx, const Var& x) override;
  std::string describe() const override;

 private:
  double forward_ms_, backward_ms_;
};

}  // namespace ty
