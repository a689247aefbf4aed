// The Trainer's GAN parts: generated images, the sample grids written while training, FID.
#include <chrono>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "models/gan.h"
#include "runtime/ops/ops.h"
#include "runtime/status.h"
#include "storage/png_grid.h"
#include "worker/trainer/datasets.h"
#include "worker/trainer/fid_scorer.h"
#include "worker/trainer/gan_task.h"
#include "worker/trainer/trainer.h"

namespace ty {
namespace {
constexpr int64_t kGridSamples = 64, kGenerateBatch = 256;
}  // namespace

absl::StatusOr<Tensor> Trainer::generate_images(int64_t n, uint64_t seed, uint64_t stream) {
  if (!gan()) return absl::InvalidArgumentError("the job's model is not a GAN (model.kind gan)");
  if (n <= 0) return absl::InvalidArgumentError(absl::StrCat("cannot generate ", n, " images"));
  GanNet& g = gan_generator(*model_);
  const Shape image = g.out_shape();
  Tensor out = Tensor::empty(host_memory(), {n, image[0], image[1], image[2]}, DType::kF32);
  const int64_t per = shape_numel(image);
  model_->set_training(false);
  TapeScope none(*ctx_, nullptr);
  for (int64_t first = 0; first < n; first += kGenerateBatch) {
    const int64_t rows = std::min(kGenerateBatch, n - first);
    Vars in{Var(latent_noise(*ctx_, seed, stream, first, rows, spec_.model.latent))};
    if (g.conditional()) {
      Tensor labels = Tensor::empty(host_memory(), {rows}, DType::kI32);
      for (int64_t r = 0; r < rows; ++r) labels.data<int32_t>()[r] = static_cast<int32_t>((first + r) % data_.classes);
      in.emplace_back(ctx_->to_device(labels));
    }
    const Tensor images = ops::plain(*ctx_, g.apply(*ctx_, in)[0]).value().host();
    std::copy(images.data<float>(), images.data<float>() + rows * per, out.data<float>() + first * per);
  }
  model_->set_training(true);
  return out;
}

absl::Status Trainer::write_sample_grid(int64_t step, MetricsLog* log, FILE* out) {
  if (!leader()) return absl::OkStatus();
  TY_ASSIGN_OR_RETURN(const Tensor images, generate_images(kGridSamples, spec_.train.seed, kSampleNoise));
  const std::string name = absl::StrFormat("samples/step-%010d.png", step);
  std::error_code ec;
  std::filesystem::create_directories(run_dir_ + "/samples", ec);
  TY_RETURN_IF_ERROR(write_png_grid(run_dir_ + "/" + name, images));
  if (log) log->samples(step, name);
  if (out) std::fprintf(out, "  samples: %s/%s\n", run_dir_.c_str(), name.c_str());
  return absl::OkStatus();
}

absl::StatusOr<Trainer::Fid> Trainer::fid(const std::string& classifier, const Dataset* samples, FILE* out) {
  if (!gan()) return absl::InvalidArgumentError("the job's model is not a GAN (model.kind gan)");
  if (!data_.test) return absl::InvalidArgumentError("data.test: FID compares with the test images; name them");
  const Shape image = gan_generator(*model_).out_shape();
  TY_ASSIGN_OR_RETURN(std::unique_ptr<FidScorer> scorer, FidScorer::open(*ctx_, classifier, image, data_.classes));
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n = samples ? samples->size() : spec_.gan.fid_samples;
  FeatureMomentsAccumulator test(scorer->dim()), real(scorer->dim()), fake(scorer->dim());
  if (out)
    std::fprintf(out, "FID: %ld %s vs %ld test images, in %s's features\n", static_cast<long>(n),
                 samples ? "images" : "generated images", static_cast<long>(data_.test->size()), classifier.c_str());
  TY_RETURN_IF_ERROR(scorer->add(*data_.test, data_.test->size(), test));
  DatasetPtr train = data_.train;
  if (!train) {  // an evaluation-only trainer (`trainyard fid`): the floor needs the training images
    TY_ASSIGN_OR_RETURN(const JobData all, load_job_data(spec_, true));
    train = all.train;
  }
  TY_RETURN_IF_ERROR(scorer->add(*train, n, real));
  if (samples) {
    TY_RETURN_IF_ERROR(scorer->add(*samples, n, fake));
  } else {
    TY_ASSIGN_OR_RETURN(const Tensor images, generate_images(n, spec_.train.seed, kFidNoise));
    scorer->add(images, fake);
  }
  TY_ASSIGN_OR_RETURN(const FeatureMoments test_m, test.moments());
  TY_ASSIGN_OR_RETURN(const FeatureMoments fake_m, fake.moments());
  Fid f;
  f.samples = n;
  TY_ASSIGN_OR_RETURN(f.fid, frechet_distance(fake_m, test_m));
  TY_ASSIGN_OR_RETURN(const FeatureMoments real_m, real.moments());
  TY_ASSIGN_OR_RETURN(f.floor, frechet_distance(real_m, test_m));
  if (out)
    std::fprintf(out, "FID %.4f (floor, %ld training images vs the test images: %.4f), %.1f s\n", f.fid,
                 static_cast<long>(real_m.n), f.floor,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return f;
}

absl::Status Trainer::score_fid(MetricsLog* log, FILE* out) {
  if (!data_.test) {
    if (out) std::fprintf(out, "FID: no data.test, no score\n");
    return absl::OkStatus();
  }
  std::string classifier = spec_.gan.fid_classifier;
  if (classifier.empty()) {  // the run's own, trained once (and resumed like any run)
    const std::string dir = run_dir_ + "/fid_classifier";
    classifier = dir + "/weights.bin";
    if (out)
      std::fprintf(out, "FID's classifier (gan.fid_classifier is unset): the CNN example's model, %ld epochs, in %s\n",
                   static_cast<long>(kFidClassifierEpochs), dir.c_str());
    TY_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t,
                        Trainer::create(fid_classifier_job(spec_, strategy_->world()), dir, comm_));
    TY_RETURN_IF_ERROR(t->run());
  }
  if (!leader()) return absl::OkStatus();
  TY_ASSIGN_OR_RETURN(const Fid f, fid(classifier, nullptr, out));
  if (log) log->fid(f.fid, f.floor, f.samples);
  return absl::OkStatus();
}

}  // namespace ty
