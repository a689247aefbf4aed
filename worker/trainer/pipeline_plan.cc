#include "worker/trainer/pipeline_plan.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/pipeline/partition.h"
#include "worker/trainer/pipeline_parallel.h"
#include "runtime/status.h"

namespace ty {

std::string StagePlan::describe() const {
  std::string out;
  for (int s = 0; s < stages(); ++s) {
    const size_t first = first_layer(s), end = end_layer(s);
    absl::StrAppend(&out, s == 0 ? "" : "; ", "stage ", s, ": ", end - first == 1 ? "layer " : "layers ", first,
                    end - first == 1 ? "" : absl::StrCat("–", end - 1), ", ", params[static_cast<size_t>(s)],
                    " parameters");
  }
  return out;
}

absl::StatusOr<LayerFacts> layer_facts(std::unique_ptr<Model> whole) {
  const size_t n = whole->num_layers();
  std::vector<size_t> every;
  for (size_t i = 1; i < n; ++i) every.push_back(i);
  LayerFacts f;
  TY_ASSIGN_OR_RETURN(f.layers, Model::cut(std::move(whole), every));
  for (auto& layer : f.layers) {
    f.params.push_back(static_cast<double>(layer->num_params()));
    f.outputs.push_back(layer->out_shapes());
  }
  return f;
}

std::vector<double> layer_times(Context& ctx, LayerFacts& facts, const Shape& input, int64_t rows) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> out;
  std::vector<Shape> in_shapes{input};
  for (size_t l = 0; l < facts.layers.size(); ++l) {
    Model& layer = *facts.layers[l];
    Vars xs;
    for (const Shape& s : in_shapes) {
      Shape full{rows};
      full.insert(full.end(), s.begin(), s.end());
      Tensor t = ctx.empty(full);
      t.fill(0.5f);
      xs.emplace_back(t, /*requires_grad=*/true);
    }
    double best = 1e30;
    for (int rep = 0; rep < 4; ++rep) {  // the first warms up
      const auto t0 = Clock::now();
      Tape tape;
      Vars ys;
      {
        TapeScope record(ctx, &tape);
        ys = layer.apply(ctx, xs);
      }
      std::vector<Tensor> grads;
      for (const Var& y : ys) {
        Tensor g = y.value().empty_like();
        g.fill(1.0f);
        grads.push_back(g);
      }
      tape.backward(ys, grads);
      ctx.synchronize();
      const double t = std::chrono::duration<double>(Clock::now() - t0).count();
      if (rep > 0) best = std::min(best, t);
      for (Var& x : xs) x.zero_grad();
      for (auto& [name, p] : layer.named_params()) p.zero_grad();
    }
    out.push_back(best);
    in_shapes = facts.outputs[l];
  }
  return out;
}

absl::StatusOr<StagePlan> plan_stages(const PipelineSpec& spec, const LayerFacts& facts, const Shape& input,
                                      const std::vector<double>& times) {
  const int p = static_cast<int>(spec.stages);
  const int64_t n = static_cast<int64_t>(facts.params.size());
  StagePlan plan;
  plan.input = input;
  plan.layers = facts.params.size();
  if (n < p)
    return absl::InvalidArgumentError(absl::StrCat("parallel.pipeline.stages: ", p, " stages, but the model has ", n,
                                                   " layers; each stage needs at least one"));
  std::vector<int64_t> cuts;
  switch (spec.partition.kind) {
    case PartitionKind::kCuts:
      cuts = spec.partition.cuts;
      TY_RETURN_IF_ERROR(pipeline::check_cuts(cuts, p, n, "parallel.pipeline.partition"));
      break;
    case PartitionKind::kUniform: {
      TY_ASSIGN_OR_RETURN(cuts, pipeline::balanced_cuts(std::vector<double>(static_cast<size_t>(n), 1.0), p));
      break;
    }
    case PartitionKind::kParameters: {
      TY_ASSIGN_OR_RETURN(cuts, pipeline::balanced_cuts(facts.params, p));
      break;
    }
    case PartitionKind::kTime: {
      if (static_cast<int64_t>(times.size()) != n)
        return absl::InternalError("parallel.pipeline.partition: time, but no layer times were measured");
      TY_ASSIGN_OR_RETURN(cuts, pipeline::balanced_cuts(times, p));
      break;
    }
  }
  for (int64_t c : cuts) plan.cuts.push_back(static_cast<size_t>(c));
  for (int s = 0; s < p; ++s) {
    double params = 0;
    for (size_t l = plan.first_layer(s); l < plan.end_layer(s); ++l) params += facts.params[l];
    plan.params.push_back(static_cast<int64_t>(params));
    plan.outputs.push_back(facts.outputs[plan.end_layer(s) - 1]);
    if (plan.outputs.back().size() > static_cast<size_t>(kMaxStageTensors))
      return absl::InvalidArgumentError(absl::StrCat("parallel.pipeline.partition: stage ", s, " would hand on ",
                                                     plan.outputs.back().size(),
                                                     " tensors per micro-batch; a stage hands on at most ", kMaxStageTensors));
  }
  return plan;
}

}  // namespace ty
