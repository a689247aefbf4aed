#include "worker/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "runtime/optim/adam.h"
#include "runtime/optim/clip.h"
#include "runtime/optim/schedule.h"
#include "runtime/optim/sgd.h"
#include "runtime/status.h"
#include "storage/sampler.h"
#include "storage/weights_file.h"
#include "worker/metrics_log.h"
#include "worker/progress.h"

namespace ty {

absl::StatusOr<std::unique_ptr<Optimizer>> make_optimizer(const OptimizerSpec& o, std::vector<Var> params) {
  if (o.name == "sgd")
    return std::unique_ptr<Optimizer>(new Sgd(std::move(params), {o.momentum, o.nesterov, o.weight_decay}));
  if (o.name == "adam" || o.name == "adamw")
    return std::unique_ptr<Optimizer>(
        new Adam(std::move(params), {o.beta1, o.beta2, o.eps, o.weight_decay, o.name == "adamw"}));
  return absl::InvalidArgumentError(absl::StrCat("optimizer.name: unknown '", o.name, "' (allowed: sgd, adam, adamw)"));
}

Trainer::Trainer(const JobSpec& spec, std::string run_dir) : spec_(spec), run_dir_(std::move(run_dir)) {}
Trainer::~Trainer() = default;

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::create(const JobSpec& spec, const std::string& run_dir) {
  std::unique_ptr<Trainer> t(new Trainer(spec, run_dir));
  ContextOptions co;
  co.threads = spec.runtime_threads;
  co.seed = spec.train.seed;
  t->ctx_ = std::make_unique<Context>(co);
  TY_ASSIGN_OR_RETURN(t->data_, load_job_data(spec, /*need_train=*/!run_dir.empty()));
  const Dataset& ref = t->data_.train ? *t->data_.train : *t->data_.test;
  TY_ASSIGN_OR_RETURN(t->model_, build_model(*t->ctx_, spec.model, ref.sample_shape(), t->data_.outputs, spec.train.seed));
  if (spec.train.loss == "cross_entropy" && t->data_.classes == 0)
    return absl::InvalidArgumentError("train.loss: cross_entropy needs class labels; the data has regression targets");
  TY_ASSIGN_OR_RETURN(t->optimizer_, make_optimizer(spec.optimizer, t->model_->params()));
  return t;
}

void Trainer::load_batch(const Dataset& data, const int64_t* indices, int64_t count, Tensor& x, Tensor& y) {
  Shape xs{count};
  for (int64_t d : data.sample_shape()) xs.push_back(d);
  x = ctx_->empty(xs);
  y = data_.classes > 0 ? ctx_->empty({count}, DType::kI32) : ctx_->empty({count, data.target_width()});
  data.gather(indices, count, x, y);
}

Var Trainer::loss_of(const Var& outputs, const Tensor& targets) {
  std::string loss = spec_.train.loss;
  if (loss == "auto") loss = data_.classes > 0 ? "cross_entropy" : "mse";
  if (loss == "cross_entropy") return ops::cross_entropy(*ctx_, outputs, targets, spec_.train.label_smoothing);
  Tensor t = targets;
  if (data_.classes > 0) {  // one-hot targets for mse / bce on class labels
    const int64_t n = outputs.shape()[0], c = outputs.shape()[1];
    t = ctx_->zeros({n, c});
    for (int64_t i = 0; i < n; ++i) t.data<float>()[i * c + targets.data<int32_t>()[i]] = 1.f;
  }
  if (loss == "bce_with_logits") return ops::bce_with_logits(*ctx_, outputs, t);
  return ops::mse_loss(*ctx_, outputs, t);
}

MetricsAccumulator Trainer::evaluate(const Dataset& data) {
  model_->set_training(false);
  TapeScope no_grad(*ctx_, nullptr);
  MetricsAccumulator m(data_.classes);
  const int64_t n = data.size(), batch = std::max<int64_t>(spec_.data.batch_size, 256);
  std::vector<int64_t> idx(batch);
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t count = std::min(batch, n - start);
    for (int64_t i = 0; i < count; ++i) idx[i] = start + i;
    Tensor x, y;
    load_batch(data, idx.data(), count, x, y);
    Var out = model_->forward(*ctx_, Var(x));
    Var loss = loss_of(out, y);
    m.add(out.value(), y, loss.value().item());
  }
  model_->set_training(true);
  return m;
}

std::vector<std::pair<std::string, Tensor>> Trainer::saved_state() {
  auto state = model_->state();
  if (data_.standardized) {
    Tensor mean = ctx_->empty({1}), std = ctx_->empty({1});
    mean.fill(data_.input_mean);
    std.fill(data_.input_std);
    state.emplace_back("input.mean", mean);
    state.emplace_back("input.std", std);
  }
  return state;
}

absl::Status Trainer::load_state(const std::string& path) {
  TY_ASSIGN_OR_RETURN(auto loaded, load_weights(path));
  TY_RETURN_IF_ERROR(assign_weights(path, loaded, model_->state()));
  if (spec_.data.normalize == "standardize") {
    auto mean = loaded.find("input.mean"), std = loaded.find("input.std");
    if (mean == loaded.end() || std == loaded.end())
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": has no input.mean/input.std, but data.normalize is standardize (was it trained without it?)"));
    data_.standardize(static_cast<float>(mean->second.item()), static_cast<float>(std->second.item()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::run() {
  std::error_code ec;
  std::filesystem::create_directories(run_dir_, ec);
  if (!std::filesystem::is_directory(run_dir_))
    return absl::UnavailableError(absl::StrCat("run directory ", run_dir_, ": cannot create it (", ec.message(), ")"));
  if (data_.train == nullptr) return absl::FailedPreconditionError("this trainer was created for evaluation only");
  {
    std::ofstream job(run_dir_ + "/job.yaml");
    job << spec_.spec_yaml << "\n";
  }
  TY_ASSIGN_OR_RETURN(MetricsLog log, MetricsLog::open(run_dir_ + "/metrics.jsonl"));

  const Dataset& train = *data_.train;
  const int64_t n = train.size(), batch = spec_.data.batch_size;
  const int64_t steps_per_epoch = (n + batch - 1) / batch;
  int64_t total_steps = spec_.train.epochs * steps_per_epoch;
  if (spec_.train.max_steps > 0) total_steps = std::min(total_steps, spec_.train.max_steps);
  LrSchedule schedule(spec_.optimizer.lr, spec_.schedule, total_steps);
  std::fprintf(stderr, "trainyard: %s\n  model: %s (%ld parameters)\n  %ld steps of batch %ld over %ld epochs, %d threads\n",
               train.describe().c_str(), model_->describe().c_str(), static_cast<long>(model_->num_params()),
               static_cast<long>(total_steps), static_cast<long>(batch), static_cast<long>(spec_.train.epochs),
               ctx_->threads());
  ProgressLine progress(stderr, spec_.train.epochs, steps_per_epoch, total_steps, spec_.log_every_steps);

  Tape tape;
  const std::vector<Var> params = model_->params();
  model_->set_training(true);
  int64_t epoch = 0;
  for (; epoch < spec_.train.epochs && step_ < total_steps; ++epoch) {
    const std::vector<int64_t> order = epoch_permutation(n, spec_.train.seed, epoch);
    progress.start_epoch(epoch);
    double train_seconds = 0;
    int64_t samples = 0;
    for (int64_t s = 0; s < steps_per_epoch && step_ < total_steps; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      const int64_t start = s * batch, count = std::min(batch, n - start);
      Tensor x, y;
      load_batch(train, order.data() + start, count, x, y);
      const float lr = schedule.lr(step_);
      double loss_value;
      {
        TapeScope record(*ctx_, &tape);
        Var out = model_->forward(*ctx_, Var(x));
        Var loss = loss_of(out, y);
        loss_value = loss.value().item();
        tape.backward(loss);
      }
      if (spec_.train.clip_grad_norm > 0) clip_grad_norm(params, spec_.train.clip_grad_norm);
      optimizer_->step(lr);
      optimizer_->zero_grad();
      ++step_;
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      samples += count;
      if (!std::isfinite(loss_value))
        return absl::InternalError(absl::StrCat("loss became ", loss_value, " at step ", step_,
                                                " (epoch ", epoch + 1, "); lower optimizer.lr or set train.clip_grad_norm"));
      if (step_ % spec_.log_every_steps == 0) log.train(step_, epoch, loss_value, lr);
      progress.step(s + 1, step_, count, loss_value);
    }
    progress.end_epoch();
    log.epoch(epoch, train_seconds, train_seconds > 0 ? samples / train_seconds : 0);
    if (data_.val) {
      MetricsAccumulator m = evaluate(*data_.val);
      log.eval("val", epoch, m, false);
      std::fprintf(stderr, "  epoch %ld: %.2f s train, val loss %.4f%s\n", static_cast<long>(epoch + 1), train_seconds,
                   m.loss(), m.classification() ? absl::StrCat(", val accuracy ", m.accuracy()).c_str() : "");
    } else {
      std::fprintf(stderr, "  epoch %ld: %.2f s train\n", static_cast<long>(epoch + 1), train_seconds);
    }
  }
  TY_RETURN_IF_ERROR(save_weights(weights_path(), saved_state()));
  if (data_.test) {
    MetricsAccumulator m = evaluate(*data_.test);
    log.eval("test", std::max<int64_t>(epoch - 1, 0), m, m.classification());
    if (m.classification())
      std::fprintf(stderr, "test: loss %.4f, accuracy %.4f (%ld samples)\n", m.loss(), m.accuracy(), static_cast<long>(m.count()));
    else
      std::fprintf(stderr, "test: loss %.4f, mse %.6g (%ld samples)\n", m.loss(), m.mse(), static_cast<long>(m.count()));
  }
  std::fprintf(stderr, "weights: %s\nmetrics: %s/metrics.jsonl\n", weights_path().c_str(), run_dir_.c_str());
  return absl::OkStatus();
}

}  // namespace ty
