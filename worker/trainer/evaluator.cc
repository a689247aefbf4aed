#include "worker/trainer/evaluator.h"

#include <algorithm>

#include "runtime/status.h"

namespace ty {

void gather_batch(Context& ctx, const Dataset& data, const int64_t* indices, int64_t count, bool labels, Tensor& x,
                  Tensor& y) {
  Shape xs{count};
  for (int64_t d : data.sample_shape()) xs.push_back(d);
  x = Tensor::empty(xs);
  y = labels ? Tensor::empty({count}, DType::kI32) : Tensor::empty({count, data.target_width()});
  data.gather(indices, count, x, y);
  x = ctx.to_device(x);
  y = ctx.to_device(y);
}

absl::StatusOr<MetricsAccumulator> evaluate(Context& ctx, Model& model, Task& task, Strategy& strategy,
                                            const Dataset& data, int64_t batch) {
  model.set_training(false);
  TapeScope no_grad(ctx, nullptr);
  MetricsAccumulator m = task.new_metrics();
  std::vector<int64_t> mine;
  for (int64_t i = strategy.rank(); i < data.size(); i += strategy.world()) mine.push_back(i);
  for (int64_t start = 0; start < static_cast<int64_t>(mine.size()); start += batch) {
    const int64_t count = std::min<int64_t>(batch, static_cast<int64_t>(mine.size()) - start);
    Tensor x, y;
    gather_batch(ctx, data, mine.data() + start, count, m.classification(), x, y);
    task.measure(ctx, model, x, y, m);
  }
  model.set_training(true);
  if (strategy.world() > 1) {
    std::vector<double> sums = m.pack();
    TY_RETURN_IF_ERROR(strategy.sum(sums));
    m.unpack(sums);
  }
  return m;
}

}  // namespace ty
