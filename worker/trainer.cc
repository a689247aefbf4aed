#include "worker/trainer.h"

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "comm/gpu_communicator.h"
#include "runtime/device_probe.h"
#include "runtime/optim/adam.h"
#include "runtime/optim/clip.h"
#include "runtime/optim/schedule.h"
#include "runtime/optim/sgd.h"
#include "runtime/status.h"
#include "storage/distributed_sampler.h"
#include "storage/stream/shard_stream.h"
#include "storage/weights_file.h"
#include "worker/fault_injection.h"
#include "worker/interrupts.h"
#include "worker/metrics_log.h"
#include "worker/progress.h"

namespace ty {
namespace {

// The GPU for this rank: its local rank (ranks on one host take one GPU each) modulo the
// host's GPUs; an error says why there is none.
absl::StatusOr<int> pick_gpu(int local_rank) {
  absl::StatusOr<CudaDeviceInfo> first = cuda_device(0);
  if (!first.ok()) return absl::FailedPreconditionError(absl::StrCat("runtime.device: cuda: ", first.status().message()));
  int count = 1;
  while (count < 64 && cuda_device(count).ok()) ++count;
  return local_rank % count;
}

ScheduleOptions schedule_options(const ScheduleSpec& s) {
  ScheduleOptions o;
  o.kind = s.kind == ScheduleKind::kStep ? LrShape::kStep : s.kind == ScheduleKind::kCosine ? LrShape::kCosine : LrShape::kConstant;
  o.step_size = s.step_size;
  o.gamma = s.gamma;
  o.min_lr = s.min_lr;
  o.warmup_steps = s.warmup_steps;
  return o;
}

std::unique_ptr<Optimizer> make_optimizer(Context& ctx, const OptimizerSpec& o, std::vector<Var> params) {
  if (o.name == OptimizerKind::kSgd)
    return std::unique_ptr<Optimizer>(new Sgd(ctx, std::move(params), {o.momentum, o.nesterov, o.weight_decay}));
  return std::unique_ptr<Optimizer>(new Adam(
      ctx, std::move(params), {o.betas[0], o.betas[1], o.eps, o.weight_decay, o.name == OptimizerKind::kAdamW}));
}

}  // namespace

Trainer::Trainer(const JobSpec& spec, std::string run_dir, Communicator* comm)
    : spec_(spec), run_dir_(std::move(run_dir)), comm_(comm && comm->size() > 1 ? comm : nullptr) {}
Trainer::~Trainer() = default;

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::create(const JobSpec& spec, const std::string& run_dir,
                                                         Communicator* comm) {
  std::unique_ptr<Trainer> t(new Trainer(spec, run_dir, comm));
  ContextOptions co;
  if (spec.runtime.device == RunDevice::kCuda) {
    TY_ASSIGN_OR_RETURN(const int gpu, pick_gpu(spec.local_rank));
    co.device = Device{DeviceKind::kCUDA, gpu};
    co.compute = spec.runtime.precision == Precision::kBf16   ? DType::kBF16
                 : spec.runtime.precision == Precision::kFp16 ? DType::kF16
                                                              : DType::kF32;
    if (co.compute == DType::kF16) t->scaler_ = std::make_unique<LossScaler>();
  }
  if (spec.data.batch_size % t->world() != 0)
    return absl::InvalidArgumentError(absl::StrCat("data.batch_size: ", spec.data.batch_size,
                                                   " is the global batch and must divide evenly among the ",
                                                   t->world(), " ranks of this job"));
  co.threads = static_cast<int>(spec.runtime.threads);
  co.seed = spec.train.seed;
  co.dropout_stream = 1 + static_cast<uint64_t>(t->rank());
  co.allow_tf32 = spec.runtime.allow_tf32;
  co.benchmark_convolutions = spec.runtime.cudnn_benchmark;
  auto ctx = Context::create(co);
  if (!ctx.ok()) return absl::FailedPreconditionError(absl::StrCat("runtime.device: ", name_of(spec.runtime.device), ": ", ctx.status().message()));
  t->ctx_ = std::move(*ctx);
  if (spec.model.sync_batch_norm) {
    // One rank takes the same code path with nothing to add, so that N ranks and one rank
    // compute the statistics alike.
    Communicator* c = t->comm_;
    t->ctx_->set_cross_rank_sum([c](Tensor& v) {
      if (c == nullptr) return;
      absl::Status st = c->allreduce_now(v, ReduceOp::kSum);
      CHECK(st.ok()) << "synchronized batch norm: " << st.message();
    });
  }
  TY_ASSIGN_OR_RETURN(t->data_, load_job_data(spec, /*need_train=*/!run_dir.empty()));
  const Dataset& ref = t->data_.train ? *t->data_.train : *t->data_.test;
  TY_ASSIGN_OR_RETURN(t->model_, build_model(*t->ctx_, spec.model, ref.sample_shape(), t->data_.outputs, spec.train.seed));
  if (spec.train.loss == LossKind::kCrossEntropy && t->data_.classes == 0)
    return absl::InvalidArgumentError("train.loss: cross_entropy needs class labels; the data has regression targets");
  t->optimizer_ = make_optimizer(*t->ctx_, spec.optimizer, t->model_->params());
  if (t->comm_) {
    // Parameters and gradients on GPUs go over NCCL; the host communicator keeps the rest.
    Communicator* grads = t->comm_;
    if (t->ctx_->on_gpu()) {
      CommOptions o;
      o.timeout = std::chrono::seconds(spec.comm.timeout_s);
      TY_ASSIGN_OR_RETURN(t->gpu_comm_, open_gpu_communicator(*t->comm_, co.device.index, t->ctx_->stream(), o));
      grads = t->gpu_comm_.get();
    }
    std::vector<Tensor> state;
    for (auto& [name, tensor] : t->model_->state()) state.push_back(tensor);
    TY_RETURN_IF_ERROR(broadcast_tensors(*grads, state));
    t->bucketer_ = std::make_unique<GradientBucketer>(
        *grads, t->model_->params(), static_cast<size_t>(spec.comm.bucket_mb * (1 << 20)));
  }
  return t;
}

void Trainer::load_batch(const Dataset& data, const int64_t* indices, int64_t count, Tensor& x, Tensor& y) {
  Shape xs{count};
  for (int64_t d : data.sample_shape()) xs.push_back(d);
  x = Tensor::empty(xs);
  y = data_.classes > 0 ? Tensor::empty({count}, DType::kI32) : Tensor::empty({count, data.target_width()});
  data.gather(indices, count, x, y);
  x = ctx_->to_device(x);
  y = ctx_->to_device(y);
}

Var Trainer::loss_of(const Var& outputs, const Tensor& targets) {
  LossKind loss = spec_.train.loss;
  if (loss == LossKind::kAuto) loss = data_.classes > 0 ? LossKind::kCrossEntropy : LossKind::kMse;
  if (loss == LossKind::kCrossEntropy) return ops::cross_entropy(*ctx_, outputs, targets, spec_.train.label_smoothing);
  Tensor t = targets;
  if (data_.classes > 0) {  // one-hot targets for mse / bce on class labels
    t = ctx_->empty({outputs.shape()[0], outputs.shape()[1]}, outputs.dtype());
    ctx_->kernels(t.dtype()).one_hot(ctx_->to_device(targets), t);
  }
  if (loss == LossKind::kBceWithLogits) return ops::bce_with_logits(*ctx_, outputs, t);
  return ops::mse_loss(*ctx_, outputs, t);
}

absl::StatusOr<MetricsAccumulator> Trainer::evaluate(const Dataset& data) {
  model_->set_training(false);
  TapeScope no_grad(*ctx_, nullptr);
  MetricsAccumulator m(data_.classes);
  const int64_t batch = std::max<int64_t>(spec_.data.batch_size, 256);
  std::vector<int64_t> mine;
  for (int64_t i = rank(); i < data.size(); i += world()) mine.push_back(i);
  for (int64_t start = 0; start < static_cast<int64_t>(mine.size()); start += batch) {
    const int64_t count = std::min<int64_t>(batch, mine.size() - start);
    Tensor x, y;
    load_batch(data, mine.data() + start, count, x, y);
    Var out = model_->forward(*ctx_, Var(x));
    Var loss = loss_of(out, y);
    m.add(out.value(), y, loss.value().item());
  }
  model_->set_training(true);
  if (comm_) {
    const std::vector<double> local = m.pack();
    Tensor sums = Tensor::empty({static_cast<int64_t>(local.size())}, DType::kF64);
    for (size_t i = 0; i < local.size(); ++i) sums.set(i, local[i]);
    TY_RETURN_IF_ERROR(comm_->allreduce_now(sums, ReduceOp::kSum));
    std::vector<double> global(local.size());
    for (size_t i = 0; i < global.size(); ++i) global[i] = sums.at(i);
    m.unpack(global);
  }
  return m;
}

std::string Trainer::device_description() const {
  if (!ctx_->on_gpu()) return absl::StrCat(ctx_->threads(), " threads");
  absl::StatusOr<CudaDeviceInfo> gpu = cuda_device(ctx_->device().index);
  return absl::StrCat(ctx_->device().str(), gpu.ok() ? absl::StrCat(" (", gpu->name, ")") : "",
                      spec_.runtime.allow_tf32 ? ", TF32" : "");
}

absl::StatusOr<double> Trainer::global_mean(double value) {
  if (!comm_) return value;
  Tensor t = Tensor::empty({1}, DType::kF64);
  t.set(0, value);
  TY_RETURN_IF_ERROR(comm_->allreduce_now(t, ReduceOp::kAvg));
  return t.at(0);
}

absl::StatusOr<std::unique_ptr<BatchSource>> Trainer::make_batch_source() {
  const DataSpec& d = spec_.data;
  const Remainder remainder = d.remainder == BatchRemainder::kDrop  ? Remainder::kDrop
                              : d.remainder == BatchRemainder::kPad ? Remainder::kPad
                                                                    : Remainder::kPartial;
  if (!data_.train_shards)
    return std::unique_ptr<BatchSource>(new SampledBatches(
        data_.train, DistributedSampler(data_.train->size(), spec_.train.seed, rank(), world(), d.batch_size, remainder)));
  StreamOptions o;
  o.seed = spec_.train.seed;
  o.rank = rank();
  o.world = world();
  o.global_batch = d.batch_size;
  o.remainder = remainder;
  o.epochs = spec_.train.epochs;
  o.shuffle_window_bytes = spec_.storage.shuffle_window_mb << 20;
  o.prefetch_bytes = spec_.storage.prefetch_mb << 20;
  o.reader_threads = static_cast<int>(spec_.storage.reader_threads);
  o.direct_io = spec_.storage.direct_io;
  o.io = spec_.storage.io == IoMode::kMmap    ? FileIo::kMmap
         : spec_.storage.io == IoMode::kPread ? FileIo::kPread
                                              : FileIo::kAuto;
  o.skip_corrupt = spec_.storage.on_corrupt == CorruptPolicy::kSkip;
  o.standardize = data_.standardized;
  o.mean = data_.input_mean;
  o.std = data_.input_std;
  auto stream = ShardStream::open(data_.train_shards, o);
  if (!stream.ok()) return absl::Status(stream.status().code(), absl::StrCat("data.train: ", stream.status().message()));
  return std::unique_ptr<BatchSource>(std::move(*stream));
}

absl::StatusOr<Tensor> Trainer::train_step(float lr, Tape& tape, int64_t& rows) {
  Tensor x, y;
  const auto t0 = std::chrono::steady_clock::now();
  TY_RETURN_IF_ERROR(source_->next(x, y));
  rows = x.shape()[0];
  data_wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // On a GPU the batch is staged through page-locked memory and copied on the compute
  // stream; the step's work queues behind it without waiting.
  x = ctx_->to_device(x);
  y = ctx_->to_device(y);
  Tensor loss_value;
  {
    TapeScope record(*ctx_, &tape);
    Var out = model_->forward(*ctx_, Var(x));
    Var loss = loss_of(out, y);
    loss_value = loss.value();
    if (bucketer_) bucketer_->begin_step();
    tape.backward(loss, scaler_ ? scaler_->scale() : 1.0);
  }
  if (bucketer_) TY_RETURN_IF_ERROR(bucketer_->finish_step());
  // fp16: a step whose gradients overflowed is skipped (every rank alike: the gradients
  // are the same averaged ones) and the loss scale halved.
  if (scaler_) {
    if (scaler_->unscale_or_skip(*ctx_, model_->params(), spec_.train.clip_grad_norm)) optimizer_->step(lr);
  } else {
    if (spec_.train.clip_grad_norm > 0) clip_grad_norm(*ctx_, model_->params(), spec_.train.clip_grad_norm);
    optimizer_->step(lr);
  }
  optimizer_->zero_grad();
  ++step_;
  return loss_value;
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
  if (spec_.data.normalize == Normalization::kStandardize) {
    auto mean = loaded.find("input.mean"), std = loaded.find("input.std");
    if (mean == loaded.end() || std == loaded.end())
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": has no input.mean/input.std, but data.normalize is standardize (was it trained without it?)"));
    data_.standardize(static_cast<float>(mean->second.item()), static_cast<float>(std->second.item()));
  }
  return absl::OkStatus();
}

absl::Status Trainer::run() {
  if (data_.train == nullptr) return absl::FailedPreconditionError("this trainer was created for evaluation only");
  std::optional<MetricsLog> log;
  if (leader()) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir_, ec);
    if (!std::filesystem::is_directory(run_dir_))
      return absl::UnavailableError(absl::StrCat("run directory ", run_dir_, ": cannot create it (", ec.message(), ")"));
    {
      std::ofstream job(run_dir_ + "/job.yaml", std::ios::trunc);
      job << spec_.spec_yaml << "\n";
      job.close();
      if (!job)
        return absl::UnavailableError(absl::StrCat(run_dir_, "/job.yaml: cannot write (", std::strerror(errno), ")"));
    }
    TY_ASSIGN_OR_RETURN(MetricsLog opened, MetricsLog::open(run_dir_ + "/metrics.jsonl"));
    log.emplace(std::move(opened));
    log->data("train", data_.train->size(), data_.train->skipped_records());
    if (data_.val) log->data("val", data_.val->size(), data_.val->skipped_records());
    if (data_.test) log->data("test", data_.test->size(), data_.test->skipped_records());
  }
  FILE* out = leader() ? stderr : nullptr;

  const Dataset& train = *data_.train;
  const int64_t batch = spec_.data.batch_size;
  TY_ASSIGN_OR_RETURN(source_, make_batch_source());
  const int64_t steps_per_epoch = source_->steps_per_epoch();
  steps_per_epoch_ = steps_per_epoch;
  int64_t total_steps = spec_.train.epochs * steps_per_epoch;
  if (spec_.train.max_steps > 0) total_steps = std::min(total_steps, spec_.train.max_steps);
  LrSchedule schedule(spec_.optimizer.lr, schedule_options(spec_.schedule), total_steps);
  if (out)
    std::fprintf(out, "trainyard: %s\n  model: %s (%ld parameters)\n  %ld steps of batch %ld over %ld epochs, %d rank(s) x %s%s\n",
                 train.describe().c_str(), model_->describe().c_str(), static_cast<long>(model_->num_params()),
                 static_cast<long>(total_steps), static_cast<long>(batch), static_cast<long>(spec_.train.epochs),
                 world(), device_description().c_str(),
                 bucketer_ ? absl::StrCat(", ", comm_->backend(), ", ", bucketer_->num_buckets(), " gradient buckets").c_str() : "");
  ProgressLine progress(out, spec_.train.epochs, steps_per_epoch, total_steps, spec_.log_every_steps);

  TY_ASSIGN_OR_RETURN(const auto start, resume(out));
  TY_RETURN_IF_ERROR(source_->seek(start.first, start.second));
  TY_ASSIGN_OR_RETURN(const uint64_t nonce, start_checkpointing());
  saver_ = std::make_unique<CheckpointSaver>(run_dir_, rank(), world(), static_cast<int>(spec_.checkpoint.keep),
                                             std::chrono::seconds(spec_.comm.timeout_s), nonce);
  auto last_save = std::chrono::steady_clock::now();
  int64_t saved_step = step_, saves = 0, saved_bytes = 0;
  int64_t last_epoch = start.first, last_next_s = start.second;  // the position after the last step
  // Saves a snapshot of the state after the current step; the write goes on in the background.
  auto checkpoint = [&](int64_t epoch, int64_t next_s) -> absl::Status {
    const int64_t next_epoch = next_s >= steps_per_epoch ? epoch + 1 : epoch;
    const auto t0 = std::chrono::steady_clock::now();
    saved_step = step_;
    absl::Status previous = saver_->wait();  // the previous save is done with snapshot_
    checkpoint_state(next_epoch, next_s >= steps_per_epoch ? 0 : next_s, snapshot_);
    int64_t bytes = 0;
    for (const auto& [name, t] : snapshot_) bytes += static_cast<int64_t>(t.nbytes());
    if (previous.ok()) previous = saver_->save(step_, snapshot_);
    last_save = std::chrono::steady_clock::now();
    if (log) log->checkpoint(step_, std::chrono::duration<double>(last_save - t0).count(), bytes);
    ++saves;
    saved_bytes += bytes;
    return previous;
  };

  Tape tape;
  model_->set_training(true);
  int64_t epoch = start.first;
  for (; epoch < spec_.train.epochs && step_ < total_steps; ++epoch) {
    progress.start_epoch(epoch);
    double train_seconds = 0;
    int64_t samples = 0;
    data_wait_s_ = 0;
    for (int64_t s = epoch == start.first ? start.second : 0; s < steps_per_epoch && step_ < total_steps; ++s) {
      const auto t0 = std::chrono::steady_clock::now();
      maybe_kill_self(rank(), step_);
      const float lr = schedule.lr(step_);
      int64_t batch_rows = 0;
      TY_ASSIGN_OR_RETURN(const Tensor loss_tensor, train_step(lr, tape, batch_rows));
      // Read the loss only where it is shown, once (a GPU runs ahead of the host otherwise).
      std::optional<double> loss_read;
      auto loss_value = [&] {
        if (!loss_read) loss_read = loss_tensor.item();
        return *loss_read;
      };
      const bool log_due = step_ % spec_.log_every_steps == 0 || step_ == total_steps;
      if (log_due) loss_value();
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      samples += batch_rows * world();
      // Every rank takes this branch on the same steps (collectives must match).
      if (log_due) {
        TY_ASSIGN_OR_RETURN(const double global_loss, global_mean(loss_value()));
        if (!std::isfinite(global_loss))
          return absl::InternalError(absl::StrCat("loss became ", global_loss, " at step ", step_, " (epoch ", epoch + 1,
                                                  "); lower optimizer.lr or set train.clip_grad_norm"));
        if (log) log->train(step_, epoch, global_loss, lr);
      }
      progress.step(s + 1, step_, batch_rows * world(), loss_value);
      last_epoch = epoch;
      last_next_s = s + 1;

      // Checkpoint when due or asked (SIGUSR1: save; SIGTERM: save and stop). Every rank
      // must decide alike: the request is the maximum over ranks.
      // 1: save (SIGUSR1, every_minutes), 2: save and stop (SIGTERM), 3: a save failed.
      double request = static_cast<double>(take_interrupt_request());
      const absl::Status io = !saver_->status().ok() ? saver_->status() : log ? log->status() : absl::OkStatus();
      if (!io.ok()) request = 3;
      const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count() / 60;
      if (spec_.checkpoint.every_minutes > 0 && minutes >= spec_.checkpoint.every_minutes) request = std::max(request, 1.0);
      if (comm_) {
        Tensor r = Tensor::empty({1}, DType::kF64);
        r.set(0, request);
        TY_RETURN_IF_ERROR(comm_->allreduce_now(r, ReduceOp::kMax));
        request = r.at(0);
      }
      if (request >= 3) {
        return io.ok() ? absl::AbortedError(absl::StrCat("a checkpoint save or metrics write failed on another rank "
                                                         "before step ", step_))
                       : io;
      }
      const bool every = spec_.checkpoint.every_steps > 0 && step_ % spec_.checkpoint.every_steps == 0;
      if (every || request > 0) TY_RETURN_IF_ERROR(checkpoint(epoch, s + 1));
      if (request >= 2) {
        TY_RETURN_IF_ERROR(saver_->wait());
        const int sig = stop_signal();
        return absl::CancelledError(absl::StrCat("stopped by ", sig == SIGINT ? "SIGINT" : "SIGTERM", " after step ", step_,
                                                 "; checkpoint saved, run the same command to resume"));
      }
    }
    {  // the epoch's last steps may still run on a GPU: count them in
      const auto t0 = std::chrono::steady_clock::now();
      ctx_->synchronize();
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    progress.end_epoch();
    if (scaler_ && out)
      std::fprintf(out, "  fp16 loss scale %g, %ld step(s) skipped for overflow so far\n", scaler_->scale(),
                   static_cast<long>(scaler_->skipped()));
    TY_ASSIGN_OR_RETURN(const double skipped, global_mean(static_cast<double>(source_->skipped_records())));
    if (log)
      log->epoch(epoch, train_seconds, train_seconds > 0 ? samples / train_seconds : 0, data_wait_s_,
                 static_cast<int64_t>(std::llround(skipped * world())));
    if (data_.val) {
      TY_ASSIGN_OR_RETURN(MetricsAccumulator m, evaluate(*data_.val));
      if (log) log->eval("val", epoch, m, false);
      if (out)
        std::fprintf(out, "  epoch %ld: %.2f s train, val loss %.4f%s\n", static_cast<long>(epoch + 1), train_seconds,
                     m.loss(), m.classification() ? absl::StrCat(", val accuracy ", m.accuracy()).c_str() : "");
    } else if (out) {
      std::fprintf(out, "  epoch %ld: %.2f s train\n", static_cast<long>(epoch + 1), train_seconds);
    }
  }
  if (bucketer_ && out && bucketer_->comm_seconds() > 0)
    std::fprintf(out, "  gradient allreduce: %.3f s running, %.3f s waited for (%.0f%% hidden behind backward)\n",
                 bucketer_->comm_seconds(), bucketer_->waited_seconds(),
                 100.0 * std::max(0.0, 1.0 - bucketer_->waited_seconds() / bucketer_->comm_seconds()));
  if (spec_.checkpoint.at_end && step_ != saved_step) TY_RETURN_IF_ERROR(checkpoint(last_epoch, last_next_s));
  TY_RETURN_IF_ERROR(saver_->wait());
  if (log && saves > 0) log->checkpoint_io(saves, saved_bytes, saver_->seconds_writing());
  if (leader()) TY_RETURN_IF_ERROR(save_weights(weights_path(), saved_state()));
  if (data_.test) {
    TY_ASSIGN_OR_RETURN(MetricsAccumulator m, evaluate(*data_.test));
    if (log) log->eval("test", std::max<int64_t>(epoch - 1, 0), m, m.classification());
    if (out && m.classification())
      std::fprintf(out, "test: loss %.4f, accuracy %.4f (%ld samples)\n", m.loss(), m.accuracy(), static_cast<long>(m.count()));
    else if (out)
      std::fprintf(out, "test: loss %.4f, mse %.6g (%ld samples)\n", m.loss(), m.mse(), static_cast<long>(m.count()));
  }
  if (log && !log->status().ok()) return log->status();
  if (out) std::fprintf(out, "weights: %s\nmetrics: %s/metrics.jsonl\n", weights_path().c_str(), run_dir_.c_str());
  return absl::OkStatus();
}

}  // namespace ty
