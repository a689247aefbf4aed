// The Trainer's GAN parts: generated images, the sample grids written while training.
#include <filesystem>

#include "absl/strings/str_format.h"
#include "models/gan.h"
#include "runtime/ops/ops.h"
#include "runtime/status.h"
#include "storage/png_grid.h"
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

}  // namespace ty
