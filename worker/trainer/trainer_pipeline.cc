// The trainer's pipeline side: where the model is cut, which stage this rank keeps, and the
// whole weights file written from the stages' parts.
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "runtime/status.h"
#include "storage/weights_file.h"
#include "worker/trainer/pipeline_parallel.h"
#include "worker/trainer/trainer.h"

namespace ty {

absl::Status Trainer::plan_pipeline(const Shape& sample_shape) {
  if (comm_ == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("parallel.pipeline.stages: ", spec_.parallel.pipeline.stages,
                                                   " stages need at least as many ranks; this job has 1 (launch it "
                                                   "with mpirun -np, srun -n or submit --ranks)"));
  TY_ASSIGN_OR_RETURN(ShapeModel shapes, shape_model(sample_shape));
  TY_ASSIGN_OR_RETURN(LayerFacts facts, layer_facts(std::move(shapes.model)));
  std::vector<double> times;
  if (spec_.parallel.pipeline.partition.kind == PartitionKind::kTime) {
    // Rank 0 times each layer on a micro-batch's rows; every rank cuts by its figures.
    const int64_t stages = spec_.parallel.pipeline.stages;
    const int64_t rows = std::max<int64_t>(
        1, spec_.data.batch_size / (comm_->size() / stages) / spec_.parallel.pipeline.microbatches_or_default());
    std::vector<double> shared(facts.params.size(), 0.0);
    absl::Status timed_ok;
    if (comm_->rank() == 0) {
      absl::StatusOr<std::unique_ptr<Model>> timed =
          build_model(*ctx_, spec_.model, sample_shape, data_.outputs, spec_.train.seed);
      absl::StatusOr<LayerFacts> timed_facts = timed.ok() ? layer_facts(std::move(*timed)) : timed.status();
      if (timed_facts.ok()) {
        shared = layer_times(*ctx_, *timed_facts, sample_shape, rows);
      } else {
        timed_ok = timed_facts.status();
        shared.assign(shared.size(), 0.0);
        if (!shared.empty()) shared[0] = -1.0;  // every rank learns that the timing failed
      }
    }
    TY_RETURN_IF_ERROR(allreduce_values(*comm_, shared, ReduceOp::kSum));
    if (!timed_ok.ok()) return timed_ok;
    if (!shared.empty() && shared[0] < 0)
      return absl::AbortedError("parallel.pipeline.partition: time: rank 0 failed to time the layers (its error says why)");
    times = std::move(shared);
  }
  TY_ASSIGN_OR_RETURN(stage_plan_, plan_stages(spec_.parallel.pipeline, facts, sample_shape, times));
  return absl::OkStatus();
}

absl::Status Trainer::keep_my_stage() {
  TY_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Model>> stages, Model::cut(std::move(model_), stage_plan_.cuts));
  model_ = std::move(stages[static_cast<size_t>(my_stage())]);
  return absl::OkStatus();
}

absl::Status Trainer::save_whole_weights() {
  const PipelineLayout& l = static_cast<PipelineParallel&>(*strategy_).layout();
  auto part = [&](int s) { return join_path(run_dir_, absl::StrCat("weights.stage-", s, ".bin")); };
  absl::Status mine;
  if (l.replica == 0) mine = save_weights(part(l.stage), saved_state());
  std::vector<double> failed{mine.ok() ? 0.0 : 1.0};
  TY_RETURN_IF_ERROR(strategy_->sum(failed));  // (also: every part is written before rank 0 reads)
  if (!mine.ok()) return mine;
  if (failed[0] > 0) return absl::AbortedError("another pipeline stage failed to write its part of weights.bin");
  if (!leader()) return absl::OkStatus();
  NamedTensors whole;
  std::set<std::string> seen;
  for (int s = 0; s < l.stages; ++s) {
    TY_ASSIGN_OR_RETURN(auto loaded, load_weights(part(s)));
    // In the stages' order (by name within each part, as the file keeps them).
    for (auto& [name, tensor] : loaded)
      if (seen.insert(name).second) whole.emplace_back(name, tensor);
  }
  TY_RETURN_IF_ERROR(save_weights(weights_path(), whole));
  for (int s = 0; s < l.stages; ++s) (void)remove_path(part(s));
  return absl::OkStatus();
}

}  // namespace ty
