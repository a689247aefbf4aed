#include "worker/trainer/evaluator.h"

#include <algorithm>

#include "runtime/status.h"

namespace ty {

absl::StatusOr<MetricsAccumulator> evaluate(Context& ctx, Model& model, Task& task, Strategy& strategy,
                                            const Dataset& data, int64_t batch) {
  model.set_training(false);
  TapeScope no_grad(ctx, nullptr);
  MetricsAccumulator m = task.new_metrics();
  std::vector<int64_t> mine;
  for (int64_t i = strategy.data_rank(); i < data.size(); i += strategy.data_world()) mine.push_back(i);
  for (int64_t start = 0; start < static_cast<int64_t>(mine.size()); start += batch) {
    const int64_t count = std::min<int64_t>(batch, static_cast<int64_t>(mine.size()) - start);
    absl::StatusOr<Batch> gathered = gather_batch(data, mine.data() + start, count);
    if (!gathered.ok()) {
      model.set_training(true);
      return gathered.status();
    }
    if (absl::Status st = strategy.measure(ctx, model, task, *gathered, m); !st.ok()) {
      model.set_training(true);
      return st;
    }
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
