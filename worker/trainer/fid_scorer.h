// FID's feature space (models/fid.h): the penultimate layer — the 128 ReLU features before
// the logits — of the CNN example's classifier (examples/fashion_mnist_cnn.yaml) trained by
// trainyard on the same data set. Images are scored as 8-bit pixels, as an image file holds
// them, standardized as the classifier was trained (its weights file's input.mean/std).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "models/fid.h"
#include "models/model.h"
#include "storage/dataset.h"

namespace ty {

// The CNN example's model: conv 32 and 64 (3x3, max pool 2), fully connected 128, dropout 0.25.
ModelSpec fid_classifier_spec();
// The job that trains it on `gan`'s data over `world` ranks (a GAN run's own classifier, when
// gan.fid_classifier is unset): the example's optimizer and schedule, kFidClassifierEpochs
// epochs.
inline constexpr int64_t kFidClassifierEpochs = 3;
JobSpec fid_classifier_job(const JobSpec& gan, int world);

class FidScorer {
 public:
  // The classifier in `weights` (written by a run of fid_classifier_spec()'s model) for images
  // of `image` shape and `classes` classes; errors name the file.
  static absl::StatusOr<std::unique_ptr<FidScorer>> open(Context& ctx, const std::string& weights, const Shape& image,
                                                         int64_t classes);
  // Adds the features of `images` (N, C, H, W) f32 in [-1, 1] (a GAN's range; any device),
  // rounded to 8-bit pixels first.
  void add(const Tensor& images, FeatureMomentsAccumulator& acc);
  // Adds the features of samples [0, count) of `data` (a GAN's dataset, in [-1, 1]).
  absl::Status add(const Dataset& data, int64_t count, FeatureMomentsAccumulator& acc);
  int64_t dim() const { return dim_; }

 private:
  FidScorer(Context& ctx, std::unique_ptr<Model> model, float mean, float std, int64_t dim)
      : ctx_(ctx), model_(std::move(model)), mean_(mean), std_(std), dim_(dim) {}
  Context& ctx_;
  std::unique_ptr<Model> model_;
  float mean_, std_;
  int64_t dim_;
};

}  // namespace ty
