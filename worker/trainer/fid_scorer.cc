#include "worker/trainer/fid_scorer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "runtime/ops/ops.h"
#include "runtime/status.h"
#include "storage/batch.h"
#include "storage/weights_file.h"

namespace ty {
namespace {
constexpr int64_t kBatch = 500;
}  // namespace

ModelSpec fid_classifier_spec() {
  ModelSpec s;
  s.kind = ModelKind::kCnn;
  s.conv = {ConvBlockSpec{32, 3, 1, -1, PoolKind::kMax, 2, false, false},
            ConvBlockSpec{64, 3, 1, -1, PoolKind::kMax, 2, false, false}};
  s.hidden = {128};
  s.activation = ActivationKind::kRelu;
  s.dropout = 0.25f;
  return s;
}

JobSpec fid_classifier_job(const JobSpec& gan, int world) {
  JobSpec c;
  c.name = gan.name + "-fid-classifier";
  c.local_rank = gan.local_rank;  // (each rank its own GPU, as for the GAN)
  c.env = gan.env;
  c.resources = gan.resources;
  c.model = fid_classifier_spec();
  c.data = gan.data;
  c.data.normalize = Normalization::kStandardize;
  c.data.batch_size = std::max(world, 128 - 128 % world);  // the example's 128, split evenly among the ranks
  c.optimizer.name = OptimizerKind::kAdam;
  c.optimizer.lr = 1e-3f;
  c.schedule.kind = ScheduleKind::kCosine;
  c.train.epochs = kFidClassifierEpochs;
  c.train.seed = gan.train.seed;
  c.runtime = gan.runtime;
  c.storage = gan.storage;
  c.comm = gan.comm;
  c.log_every_steps = gan.log_every_steps;
  c.checkpoint = gan.checkpoint;
  c.spec_yaml = absl::StrCat("# the FID classifier of ", gan.name, ": examples/fashion_mnist_cnn.yaml's model, ",
                             kFidClassifierEpochs, " epochs on ", gan.data.train, "\n");
  return c;
}

absl::StatusOr<std::unique_ptr<FidScorer>> FidScorer::open(Context& ctx, const std::string& weights,
                                                           const Shape& image, int64_t classes) {
  if (classes <= 0)
    return absl::InvalidArgumentError("FID's classifier needs class labels with the data (data.train)");
  TY_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, build_model(ctx, fid_classifier_spec(), image, classes, 0));
  TY_ASSIGN_OR_RETURN(auto loaded, load_weights(weights));
  absl::Status st = assign_weights(weights, loaded, model->state());
  if (!st.ok())
    return absl::Status(st.code(), absl::StrCat(st.message(), " (FID's classifier is examples/fashion_mnist_cnn.yaml's "
                                                              "model, trained on the same images)"));
  auto mean = loaded.find("input.mean"), std = loaded.find("input.std");
  if (mean == loaded.end() || std == loaded.end())
    return absl::InvalidArgumentError(
        absl::StrCat(weights, ": has no input.mean/input.std (FID's classifier is trained with data.normalize: "
                              "standardize)"));
  model->set_training(false);
  const Shape features = model->layer(model->num_layers() - 2).out_shape();
  return std::unique_ptr<FidScorer>(new FidScorer(ctx, std::move(model), static_cast<float>(mean->second.item()),
                                                  static_cast<float>(std->second.item()), shape_numel(features)));
}

void FidScorer::add(const Tensor& images, FeatureMomentsAccumulator& acc) {
  const Tensor host = images.host();
  const int64_t n = images.dim(0), per = images.numel() / std::max<int64_t>(n, 1);
  TapeScope none(ctx_, nullptr);
  for (int64_t first = 0; first < n; first += kBatch) {
    const int64_t rows = std::min(kBatch, n - first);
    Shape s = images.shape();
    s[0] = rows;
    Tensor x = Tensor::empty(host_memory(), s, DType::kF32);
    const float* src = host.data<float>() + first * per;
    float* dst = x.data<float>();
    for (int64_t i = 0; i < rows * per; ++i) {  // [-1, 1] -> an 8-bit pixel -> the classifier's input
      const float pixel = std::round((std::clamp(src[i], -1.0f, 1.0f) + 1.0f) * 127.5f) / 255.0f;
      dst[i] = (pixel - mean_) / std_;
    }
    Vars h{Var(ctx_.to_device(x))};
    for (size_t l = 0; l + 1 < model_->num_layers(); ++l) h = model_->layer(l).apply(ctx_, h);
    const Tensor f = ops::plain(ctx_, h[0]).value().host();
    acc.add(f.data<float>(), rows);
  }
}

absl::Status FidScorer::add(const Dataset& data, int64_t count, FeatureMomentsAccumulator& acc) {
  count = std::min(count, data.size());
  std::vector<int64_t> indices(static_cast<size_t>(kBatch));
  for (int64_t first = 0; first < count; first += kBatch) {
    const int64_t rows = std::min(kBatch, count - first);
    std::iota(indices.begin(), indices.begin() + rows, first);
    TY_ASSIGN_OR_RETURN(Batch b, gather_batch(data, indices.data(), rows));
    add(b["x"], acc);
  }
  return absl::OkStatus();
}

}  // namespace ty
