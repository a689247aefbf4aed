#include "worker/trainer/trainer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "comm/gpu_communicator.h"
#include "runtime/device_io.h"
#include "runtime/device_probe.h"
#include "runtime/optim/adam.h"
#include "runtime/optim/schedule.h"
#include "runtime/optim/sgd.h"
#include "runtime/status.h"
#include "storage/distributed_sampler.h"
#include "storage/gpu_direct/device_batches.h"
#include "storage/s3/s3_url.h"
#include "storage/stream/shard_stream.h"
#include "storage/weights_file.h"
#include "worker/trainer/data_parallel.h"
#include "worker/trainer/evaluator.h"
#include "worker/trainer/gan_task.h"
#include "worker/trainer/language_model_task.h"
#include "worker/trainer/seq2seq_task.h"
#include "worker/trainer/pipeline_parallel.h"
#include "worker/trainer/supervised_task.h"

namespace ty {
namespace {

// The GPU for this rank: its local rank (ranks on one host take one GPU each) modulo the
// host's GPUs; an error says why there is none.
absl::StatusOr<int> pick_gpu(int local_rank) {
  absl::StatusOr<CudaDeviceInfo> first = cuda_device(0);
  if (!first.ok())
    return absl::FailedPreconditionError(absl::StrCat("runtime.device: cuda: ", first.status().message()));
  int count = 1;
  while (count < 64 && cuda_device(count).ok()) ++count;
  return local_rank % count;
}

ScheduleOptions schedule_options(const ScheduleSpec& s) {
  ScheduleOptions o;
  o.kind = s.kind == ScheduleKind::kStep          ? LrShape::kStep
           : s.kind == ScheduleKind::kCosine      ? LrShape::kCosine
           : s.kind == ScheduleKind::kInverseSqrt ? LrShape::kInverseSqrt
                                                  : LrShape::kConstant;
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

Remainder remainder_of(BatchRemainder r) {
  return r == BatchRemainder::kDrop  ? Remainder::kDrop
         : r == BatchRemainder::kPad ? Remainder::kPad
                                     : Remainder::kPartial;
}

}  // namespace

Trainer::Trainer(const JobSpec& spec, std::string run_dir, Communicator* comm)
    : spec_(spec),
      run_dir_(std::move(run_dir)),
      comm_(comm && comm->size() > 1 ? comm : nullptr),
      // (An evaluation-only trainer runs the whole model: weights.bin is whole.)
      pipelined_(spec.parallel.pipeline.stages > 1 && !run_dir_.empty()) {}
Trainer::~Trainer() = default;

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::create(const JobSpec& spec, const std::string& run_dir,
                                                         Communicator* comm) {
  std::unique_ptr<Trainer> t(new Trainer(spec, run_dir, comm));
  const int world = t->comm_ ? t->comm_->size() : 1;
  if (t->pipelined_) {
    const int64_t stages = spec.parallel.pipeline.stages, m = spec.parallel.pipeline.microbatches_or_default();
    if (world % stages != 0)
      return absl::InvalidArgumentError(absl::StrCat("parallel.pipeline.stages: ", stages, " stages do not divide the ",
                                                     world, " rank(s) of this job (ranks = data replicas × stages)"));
    const int64_t replicas = world / stages;
    if (spec.data.batch_size % (replicas * m) != 0)
      return absl::InvalidArgumentError(
          absl::StrCat("data.batch_size: ", spec.data.batch_size, " is the global batch and must divide into ",
                       replicas, " data replica(s) × ", m, " micro-batches (parallel.pipeline.microbatches)"));
  } else if (const int64_t m = run_dir.empty() ? 1 : spec.parallel.pipeline.microbatches_or_default();
             spec.data.batch_size % (world * m) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data.batch_size: ", spec.data.batch_size, " is the global batch and must divide evenly among the ", world,
        " ranks of this job", m > 1 ? absl::StrCat(" × ", m, " micro-batches") : ""));
  }
  TY_RETURN_IF_ERROR(t->open_device());
  TY_RETURN_IF_ERROR(t->build(/*need_train=*/!run_dir.empty()));
  return t;
}

absl::Status Trainer::open_device() {
  ContextOptions& co = context_options_;
  if (spec_.runtime.device == RunDevice::kCuda) {
    TY_ASSIGN_OR_RETURN(const int gpu, pick_gpu(spec_.local_rank));
    co.device = Device{DeviceKind::kCUDA, gpu};
    co.compute = spec_.runtime.precision == Precision::kBf16   ? DType::kBF16
                 : spec_.runtime.precision == Precision::kFp16 ? DType::kF16
                                                               : DType::kF32;
    if (co.compute == DType::kF16) scaler_ = std::make_unique<LossScaler>();
  }
  co.threads = static_cast<int>(spec_.runtime.threads);
  co.seed = spec_.train.seed;
  co.allow_tf32 = spec_.runtime.allow_tf32;
  co.benchmark_convolutions = spec_.runtime.cudnn_benchmark;
  auto ctx = Context::create(co);
  if (!ctx.ok())
    return absl::FailedPreconditionError(
        absl::StrCat("runtime.device: ", name_of(spec_.runtime.device), ": ", ctx.status().message()));
  ctx_ = std::move(*ctx);
  if (spec_.model.sync_batch_norm) {
    // One rank takes the same code path with nothing to add, so that N ranks and one rank
    // compute the statistics alike.
    Communicator* c = comm_;
    ctx_->set_cross_rank_sum([c](Tensor& v) {
      if (c == nullptr) return;
      absl::Status st = c->allreduce_now(v, ReduceOp::kSum);
      CHECK(st.ok()) << "synchronized batch norm: " << st.message();
    });
  }
  return absl::OkStatus();
}

absl::Status Trainer::load_pair_vocabulary(const char* data_key, const Dataset& ref) {
  const std::string pairs_hint = "; make token pairs with `trainyard data import parallel`";
  if (data_.vocabulary.empty())
    return absl::InvalidArgumentError(absl::StrCat("model.kind: seq2seq: ", data_key, " (", ref.describe(),
                                                   ") has no vocabulary beside it", pairs_hint));
  TY_ASSIGN_OR_RETURN(Vocabulary v, Vocabulary::load(data_.vocabulary));
  if (v.bos_id() < 0 || v.eos_id() < 0)
    return absl::InvalidArgumentError(absl::StrCat("model.kind: seq2seq: ", data_.vocabulary,
                                                   " is not a SentencePiece vocabulary with <s> and </s>",
                                                   pairs_hint));
  if (ref.label_shape().size() != 1)
    return absl::InvalidArgumentError(absl::StrCat("model.kind: seq2seq: ", data_key, " (", ref.describe(),
                                                   ") does not hold token pairs", pairs_hint));
  // A pair's source ends in </s>; a language model's token records hold no sentence marker
  // (SentencePiece never emits one while encoding).
  if (ref.size() > 0) {
    const int64_t first = 0;
    TY_ASSIGN_OR_RETURN(const Batch one, gather_batch(ref, &first, 1));
    const Tensor x = one["x"].host();
    const int32_t* ids = x.data<int32_t>();
    if (std::find(ids, ids + x.numel(), v.eos_id()) == ids + x.numel())
      return absl::InvalidArgumentError(absl::StrCat("model.kind: seq2seq: ", data_key, " (", ref.describe(),
                                                     ") holds token records without </s>, not token pairs",
                                                     pairs_hint));
  }
  pair_vocab_ = std::make_shared<const Vocabulary>(std::move(v));
  source_vocab_ = pair_vocab_;
  spec_.model.source_vocab = 0;
  if (!data_.source_vocabulary.empty()) {
    TY_ASSIGN_OR_RETURN(Vocabulary s, Vocabulary::load(data_.source_vocabulary));
    if (s.eos_id() != pair_vocab_->eos_id())
      return absl::InvalidArgumentError(absl::StrCat(
          "model.kind: seq2seq: ", data_.source_vocabulary, " gives </s> the id ", s.eos_id(), " but ",
          data_.vocabulary, " gives it ", pair_vocab_->eos_id(), "; the pairs pad both sides with one </s> id"));
    spec_.model.source_vocab = s.size();
    source_vocab_ = std::make_shared<const Vocabulary>(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status Trainer::build(bool need_train) {
  TY_ASSIGN_OR_RETURN(data_, load_job_data(spec_, need_train));
  const Dataset& ref = data_.train ? *data_.train : *data_.test;
  const char* data_key = data_.train ? "data.train" : "data.test";
  if (token_model() && !data_.tokens)
    return absl::InvalidArgumentError(absl::StrCat(
        "model.kind: ", name_of(spec_.model.kind), " needs token records (", data_key, " holds ",
        dtype_name(ref.input_dtype()), " samples of ", shape_str(ref.sample_shape()), "); make them with `trainyard data import ",
        seq2seq() ? "parallel`" : "text`"));
  if (!token_model() && data_.tokens)
    return absl::InvalidArgumentError(absl::StrCat(data_key, " holds token records (", ref.describe(),
                                                   "); train them with model.kind: rnn, transformer or seq2seq"));
  if (token_model() && spec_.train.loss != LossKind::kAuto && spec_.train.loss != LossKind::kCrossEntropy)
    return absl::InvalidArgumentError(
        absl::StrCat("train.loss: ", name_of(spec_.train.loss), "; a token model takes cross_entropy (or auto)"));
  if (seq2seq()) TY_RETURN_IF_ERROR(load_pair_vocabulary(data_key, ref));
  if (pipelined_) TY_RETURN_IF_ERROR(plan_pipeline(ref.sample_shape()));
  if (need_train) TY_RETURN_IF_ERROR(check_memory(ref.sample_shape()));
  if (pipelined_) {  // the whole model's facts from its shapes; this rank's stage for real
    TY_ASSIGN_OR_RETURN(ShapeModel whole, shape_model(ref.sample_shape()));
    set_whole_model_facts(*whole.model);
    const int s = my_stage();
    TY_ASSIGN_OR_RETURN(model_, build_model(*ctx_, spec_.model, ref.sample_shape(), data_.outputs, spec_.train.seed,
                                            DType::kF32, "", {stage_plan_.first_layer(s), stage_plan_.end_layer(s)}));
    TY_RETURN_IF_ERROR(keep_my_stage());
  } else {
    TY_ASSIGN_OR_RETURN(model_, build_model(*ctx_, spec_.model, ref.sample_shape(), data_.outputs, spec_.train.seed));
    set_whole_model_facts(*model_);
  }
  if (spec_.train.loss == LossKind::kCrossEntropy && data_.classes == 0)
    return absl::InvalidArgumentError("train.loss: cross_entropy needs class labels; the data has regression targets");
  if (gan()) {
    TY_RETURN_IF_ERROR(make_gan_task(ref.sample_shape()));
  } else {
    optimizer_ = make_optimizer(*ctx_, spec_.optimizer, model_->params());
    optimizer_->set_decays(model_->decays(spec_.optimizer.decay_all));
  }
  if (gan()) {
    // (make_gan_task made the task with its optimizers)
  } else if (language_model()) {
    task_ = std::make_unique<LanguageModelTask>(data_.classes, spec_.train.label_smoothing);
  } else if (seq2seq()) {
    task_ = std::make_unique<Seq2seqTask>(*ctx_, data_.classes, pair_vocab_->bos_id(), pair_vocab_->eos_id(),
                                          spec_.train.label_smoothing);
  } else {
    task_ = std::make_unique<SupervisedTask>(spec_.train.loss, data_.classes, spec_.train.label_smoothing);
  }
  TY_RETURN_IF_ERROR(make_strategy());
  return strategy_->start(*model_);
}

absl::Status Trainer::make_gan_task(const Shape& sample_shape) {
  if (data_.tokens || sample_shape.size() != 3)
    return absl::InvalidArgumentError(absl::StrCat("model.kind: gan needs images (C, H, W); the data has samples of ",
                                                   shape_str(sample_shape)));
  if (spec_.model.conditional && data_.classes <= 0)
    return absl::InvalidArgumentError("model.conditional: needs class labels; the data has regression targets");
  std::vector<std::vector<Var>> groups = model_->param_groups();
  const OptimizerSpec& g = spec_.generator_optimizer;
  const OptimizerSpec& d = spec_.discriminator_optimizer;
  optimizer_ = make_optimizer(*ctx_, g, groups[GanTask::kGeneratorGroup]);
  d_optimizer_ = make_optimizer(*ctx_, d, groups[GanTask::kDiscriminatorGroup]);
  // Weight decay on weights of 2 or more dimensions only (not on biases, norms' scales and
  // shifts, label embeddings), as for every model.
  for (Optimizer* o : {optimizer_.get(), d_optimizer_.get()}) {
    std::vector<bool> decays;
    for (const Var& p : o->params())
      decays.push_back(p.shape().size() >= 2 && p.name().find("label_embedding") == std::string::npos);
    o->set_decays(std::move(decays));
  }
  task_ = std::make_unique<GanTask>(*ctx_, *optimizer_, g.lr, *d_optimizer_, d.lr, spec_.model.latent,
                                    spec_.model.conditional, spec_.train.seed, spec_.train.clip_grad_norm);
  return absl::OkStatus();
}

absl::Status Trainer::make_strategy() {
  const size_t bucket_bytes = static_cast<size_t>(spec_.comm.bucket_mb * (1 << 20));
  CommOptions o;
  o.timeout = std::chrono::seconds(spec_.comm.timeout_s);
  // Parameters, gradients and activations on GPUs go over NCCL.
  auto open_device = [this, o](Communicator& host) {
    return open_gpu_communicator(host, context_options_.device.index, ctx_->stream(), o);
  };
  if (pipelined_) {
    const int s = my_stage();
    TY_ASSIGN_OR_RETURN(
        strategy_,
        PipelineParallel::create(
            *comm_, static_cast<int>(spec_.parallel.pipeline.stages),
            spec_.parallel.pipeline.schedule == PipelineScheduleKind::kGPipe ? pipeline::ScheduleKind::kGPipe
                                                                             : pipeline::ScheduleKind::kOneFOneB,
            stage_plan_.inputs_of(s), stage_plan_.outputs[static_cast<size_t>(s)], bucket_bytes,
            ctx_->on_gpu() ? PipelineParallel::OpenDevice(open_device) : PipelineParallel::OpenDevice()));
    return absl::OkStatus();
  }
  std::unique_ptr<Communicator> device_comm;
  if (comm_ && ctx_->on_gpu()) {
    TY_ASSIGN_OR_RETURN(device_comm, open_device(*comm_));
  }
  strategy_ = std::make_unique<DataParallel>(comm_, std::move(device_comm), bucket_bytes);
  return absl::OkStatus();
}

absl::StatusOr<Trainer::ShapeModel> Trainer::shape_model(const Shape& sample_shape) {
  ContextOptions o;
  o.shape_only = true;
  o.threads = ctx_->threads();
  ShapeModel out;
  out.ctx = std::make_unique<Context>(o);
  TY_ASSIGN_OR_RETURN(out.model, build_model(*out.ctx, spec_.model, sample_shape, data_.outputs, spec_.train.seed));
  return out;
}

absl::Status Trainer::check_memory(const Shape& sample_shape) {
  TY_ASSIGN_OR_RETURN(ShapeModel sized, shape_model(sample_shape));
  std::unique_ptr<Model>& shapes = sized.model;
  const int64_t world = comm_ ? comm_->size() : 1;
  if (pipelined_) {  // this rank's stage, all of its replica's share of a batch live (GPipe's worst)
    TY_ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Model>> stages, Model::cut(std::move(shapes), stage_plan_.cuts));
    const int64_t replicas = world / spec_.parallel.pipeline.stages;
    memory_ = estimate_training_memory(*stages[static_cast<size_t>(my_stage())], spec_.optimizer,
                                       spec_.data.batch_size / replicas);
  } else {
    memory_ = estimate_training_memory(*shapes, gan() ? spec_.generator_optimizer : spec_.optimizer,
                                       (spec_.data.batch_size + world - 1) / world);
  }
  absl::Status mine;
  if (!ctx_->on_gpu()) {  // the data is loaded already: what is left of the rank's share
    const size_t budget = host_memory_budget(), used = host_memory_in_use();
    mine = check_fits(memory_, static_cast<int64_t>(budget > used ? budget - used : 0), "this rank's host memory");
  } else if (absl::StatusOr<CudaDeviceInfo> gpu = cuda_device(ctx_->device().index); gpu.ok()) {
    mine = check_fits(memory_, static_cast<int64_t>(gpu->memory_bytes), ctx_->device().str());
  }  // else the Context opened the device: no figure is no reason to stop
  if (comm_ == nullptr) return mine;
  // Every rank learns whether all fit, so that none goes on into a collective alone.
  Tensor short_of_memory = Tensor::empty(host_memory(), {1}, DType::kF64);
  short_of_memory.set(0, mine.ok() ? 0.0 : 1.0);
  TY_RETURN_IF_ERROR(comm_->allreduce_now(short_of_memory, ReduceOp::kMax));
  if (!mine.ok() || short_of_memory.at(0) == 0.0) return mine;
  return absl::ResourceExhaustedError(
      "another rank's estimate of the memory training takes exceeds what it has (its error says by how much); lower "
      "data.batch_size or the model's size");
}

DecodeOptions Trainer::decode_options(int64_t beam) const {
  return {beam, spec_.eval.length_penalty, spec_.eval.max_len_a, spec_.eval.max_len_b, spec_.eval.batch_size};
}

absl::StatusOr<ExtraFigures> Trainer::translation_figures(const Dataset& data, int64_t beam, std::string& line) {
  const auto t0 = std::chrono::steady_clock::now();
  TY_ASSIGN_OR_RETURN(const TranslationScores s,
                      score_translations(*ctx_, *model_, *pair_vocab_, data, decode_options(beam), *strategy_));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  line = absl::StrFormat(" %s, %s (%s, %ld sentences, %.1f s)", s.bleu.format(), s.chrf.format(),
                         beam == 1 ? "greedy" : absl::StrCat("beam ", beam), static_cast<long>(s.sentences), seconds);
  return ExtraFigures{{"bleu", s.bleu.score}, {"chrf", s.chrf.score}, {"bp", s.bleu.bp},
                      {"beam", static_cast<double>(beam)}, {"decode_s", seconds}};
}

absl::StatusOr<MetricsAccumulator> Trainer::evaluate(const Dataset& data) {
  return ty::evaluate(*ctx_, *model_, *task_, *strategy_, data, std::max<int64_t>(spec_.data.batch_size, 256));
}

std::string Trainer::device_description() const {
  if (!ctx_->on_gpu()) return absl::StrCat(ctx_->threads(), " threads");
  absl::StatusOr<CudaDeviceInfo> gpu = cuda_device(ctx_->device().index);
  return absl::StrCat(ctx_->device().str(), gpu.ok() ? absl::StrCat(" (", gpu->name, ")") : "",
                      spec_.runtime.allow_tf32 ? ", TF32" : "");
}

absl::StatusOr<std::unique_ptr<BatchSource>> Trainer::make_batch_source() {
  const DataSpec& d = spec_.data;
  const int rank = strategy_->data_rank(), world = strategy_->data_world();
  // Micro-batches (a pipeline's, or M > 1 on one stage): each step's global batch dealt out
  // in M parts, each part split among the data shares (the same samples per step as one
  // batch of data.batch_size).
  const int64_t global_batch = d.batch_size / spec_.parallel.pipeline.microbatches_or_default();
  const GpuDirect gpu_direct = spec_.storage.gpu_direct;
  if (gpu_direct == GpuDirect::kOn && !ctx_->on_gpu())
    return absl::InvalidArgumentError(
        "storage.gpu_direct: on reads shards into GPU memory, but this rank runs on the CPU (runtime.device: cpu)");
  if (gpu_direct == GpuDirect::kOn && !data_.train_shards)
    return absl::InvalidArgumentError(
        "storage.gpu_direct: on reads shards with the streaming loader, but data.train is held in memory (IDX or CSV "
        "files, storage.loader: memory, or validation.fraction / data.train_subset under storage.loader: auto)");
  if (!data_.train_shards)
    return std::unique_ptr<BatchSource>(
        new SampledBatches(data_.train, DistributedSampler(data_.train->size(), spec_.train.seed, rank, world,
                                                           global_batch, remainder_of(d.remainder))));
  StreamOptions o;
  o.seed = spec_.train.seed;
  o.rank = rank;
  o.world = world;
  o.global_batch = global_batch;
  o.remainder = remainder_of(d.remainder);
  o.epochs = spec_.train.epochs;
  o.shuffle_window_bytes = spec_.storage.shuffle_window_mb << 20;
  o.prefetch_bytes = spec_.storage.prefetch_mb << 20;
  o.reader_threads = static_cast<int>(spec_.storage.reader_threads);
  o.remote_requests = static_cast<int>(spec_.storage.s3_requests);
  o.direct_io = spec_.storage.direct_io;
  o.io = spec_.storage.io == IoMode::kMmap    ? FileIo::kMmap
         : spec_.storage.io == IoMode::kPread ? FileIo::kPread
                                              : FileIo::kAuto;
  o.skip_corrupt = spec_.storage.on_corrupt == CorruptPolicy::kSkip;
  o.standardize = data_.standardized;
  o.mean = data_.input_mean;
  o.std = data_.input_std;
  if (ctx_->on_gpu()) {  // decoded on the device (storage/gpu_direct/device_batches.h)
    TY_ASSIGN_OR_RETURN(std::shared_ptr<DeviceIo> io, open_cuda_device_io(ctx_->device().index, ctx_->stream()));
    auto opened = open_device_batches(data_.train_shards, o,
                                      gpu_direct == GpuDirect::kOn    ? GpuDirectMode::kOn
                                      : gpu_direct == GpuDirect::kOff ? GpuDirectMode::kOff
                                                                      : GpuDirectMode::kAuto,
                                      io, ctx_->allocator());
    if (!opened.ok())
      return absl::Status(opened.status().code(), absl::StrCat("data.train: ", opened.status().message()));
    data_path_ = opened->path;
    return std::move(opened->source);
  }
  auto stream = ShardStream::open(data_.train_shards, o);
  if (!stream.ok())
    return absl::Status(stream.status().code(), absl::StrCat("data.train: ", stream.status().message()));
  return std::unique_ptr<BatchSource>(std::move(*stream));
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

absl::StatusOr<std::unique_ptr<MetricsLog>> Trainer::open_run_files() {
  if (!is_s3_url(run_dir_)) {
    std::error_code ec;
    std::filesystem::create_directories(run_dir_, ec);
    if (!std::filesystem::is_directory(run_dir_))
      return absl::InvalidArgumentError(
          absl::StrCat("run directory ", run_dir_, ": cannot create it (", ec.message(), ")"));
  }
  TY_RETURN_IF_ERROR(write_whole(join_path(run_dir_, "job.yaml"), spec_.spec_yaml + "\n"));
  TY_ASSIGN_OR_RETURN(MetricsLog opened, MetricsLog::open(join_path(run_dir_, "metrics.jsonl")));
  auto log = std::make_unique<MetricsLog>(std::move(opened));
  if (data_.tokens) log->set_tokens_per_sample(shape_numel(data_.train->sample_shape()));
  log->data("train", data_.train->size(), data_.train->skipped_records());
  if (data_.val) log->data("val", data_.val->size(), data_.val->skipped_records());
  if (data_.test) log->data("test", data_.test->size(), data_.test->skipped_records());
  if (!log->status().ok()) return log->status();
  return log;
}

absl::Status Trainer::run() {
  if (data_.train == nullptr) return absl::FailedPreconditionError("this trainer was created for evaluation only");
  FILE* out = leader() ? stderr : nullptr;
  TY_ASSIGN_OR_RETURN(source_, make_batch_source());
  const int64_t batches_per_epoch = source_->steps_per_epoch(), accumulate = spec_.train.accumulate_steps;
  const int64_t microbatches = spec_.parallel.pipeline.microbatches_or_default();
  // A GAN's step: one batch per discriminator update.
  batches_per_step_ = gan() ? spec_.train.d_steps : accumulate * microbatches;
  if (batches_per_epoch == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("data.train: ", data_.train->size(), " samples make no batch of ", spec_.data.batch_size,
                     " (data.remainder: ", name_of(spec_.data.remainder), "); lower data.batch_size"));
  steps_per_epoch_ = batches_per_epoch / batches_per_step_;  // optimizer steps
  if (steps_per_epoch_ == 0)
    return absl::InvalidArgumentError(
        absl::StrCat(gan() ? "train.d_steps: " : "train.accumulate_steps: ", batches_per_step_,
                     " batches per step, but an epoch has ",
                     batches_per_epoch / microbatches, "; lower it (or data.batch_size)"));
  int64_t total_steps = spec_.train.epochs * steps_per_epoch_;
  if (spec_.train.max_steps > 0) total_steps = std::min(total_steps, spec_.train.max_steps);
  if (out)
    std::fprintf(
        out,
        "trainyard: %s\n  model: %s (%ld parameters; training takes about %s per rank)\n  %ld steps of batch %ld over "
        "%ld epochs, %d rank(s) x %s%s\n",
        data_.train->describe().c_str(), whole_description_.c_str(), static_cast<long>(whole_params_),
        bytes_text(memory_.total()).c_str(), static_cast<long>(total_steps),
        accumulate == 1 ? static_cast<long>(spec_.data.batch_size)
                        : static_cast<long>(spec_.data.batch_size * accumulate),
        static_cast<long>(spec_.train.epochs), strategy_->world(), device_description().c_str(),
        strategy_->describe().c_str());
  if (out && !data_path_.empty()) std::fprintf(out, "  data path: %s\n", data_path_.c_str());
  if (out && pipelined_) {
    const int64_t p = spec_.parallel.pipeline.stages, m = batches_per_step_;
    std::fprintf(out,
                 "  pipeline: %s; %ld micro-batches per step (bubble on even stages (P − 1)/(M + P − 1) = %.0f%%)\n",
                 stage_plan_.describe().c_str(), static_cast<long>(m), 100.0 * (p - 1) / (m + p - 1));
  }
  TY_ASSIGN_OR_RETURN(const Position start, resume(out));
  // Finished already (every rank must agree: they may see the file system differently), and
  // whether a rank's checkpoint drew dropout masks in sequence (trainer_checkpoint.cc).
  std::vector<double> finished{step_ >= total_steps && path_exists(weights_path()) ? 0.0 : 1.0,
                               sequential_dropout_.empty() ? 0.0 : 1.0};
  TY_RETURN_IF_ERROR(strategy_->max(finished));
  if (finished[1] != 0.0)
    return absl::FailedPreconditionError(absl::StrCat(
        sequential_dropout_.empty() ? "the checkpoint another rank resumed from" : sequential_dropout_,
        ": written by a trainyard that drew dropout masks in sequence (it holds meta.dropout_offset); masks are "
        "keyed by (seed, step, layer, sample) now, so this run would not continue exactly: train into a new "
        "--run-dir, or finish the run with the trainyard that started it"));
  if (finished[0] == 0.0) {
    if (out)
      std::fprintf(out, "trainyard: this run finished at step %ld (%s); nothing to do\n", static_cast<long>(step_),
                   weights_path().c_str());
    return absl::OkStatus();
  }
  std::unique_ptr<MetricsLog> log;
  if (leader()) {
    TY_ASSIGN_OR_RETURN(log, open_run_files());
  }
  TY_RETURN_IF_ERROR(source_->seek(start.epoch, start.step_in_epoch * batches_per_step_));
  TY_ASSIGN_OR_RETURN(const uint64_t nonce, start_checkpointing());
  saver_ = std::make_unique<CheckpointSaver>(checkpoints_dir(), strategy_->rank(), strategy_->world(),
                                             static_cast<int>(spec_.checkpoint.keep),
                                             std::chrono::seconds(spec_.comm.timeout_s), nonce);
  saved_step_ = step_;
  // (A GAN's schedule scales both optimizers' rates alike; it runs on the generator's.)
  const LrSchedule schedule(gan() ? spec_.generator_optimizer.lr : spec_.optimizer.lr,
                            schedule_options(spec_.schedule), total_steps);
  CheckpointPolicy policy(spec_.checkpoint);
  TrainLoopPlan plan{.epochs = spec_.train.epochs,
                     .steps_per_epoch = steps_per_epoch_,
                     .accumulate_steps = batches_per_step_,
                     .batches_per_epoch = batches_per_epoch,
                     .total_steps = total_steps,
                     .log_every = spec_.log_every_steps,
                     .clip_grad_norm = spec_.train.clip_grad_norm,
                     .val = gan() ? nullptr : data_.val.get(),  // (a GAN is scored by FID at the end)
                     .eval_batch = std::max<int64_t>(spec_.data.batch_size, 256),
                     .val_extra = nullptr,
                     .after_step = nullptr};
  if (seq2seq())
    plan.val_extra = [this](const Dataset& data, std::string& line) { return translation_figures(data, 1, line); };
  if (gan() && spec_.gan.sample_every_steps > 0)
    plan.after_step = [this, &log, out, total_steps](int64_t step) {
      // (the last step's grid is written by finish())
      return step % spec_.gan.sample_every_steps == 0 && step < total_steps
                 ? write_sample_grid(step, log.get(), out)
                 : absl::OkStatus();
    };
  TrainLoop loop(
      {*ctx_, *model_, *optimizer_, *task_, *strategy_, *source_, scaler_.get(), log.get(), out}, plan, schedule,
      policy,
      [&](Position next) {
        policy.saved();
        return save_checkpoint(next, log.get());
      },
      [&] { return !saver_->status().ok() ? saver_->status()
                   : log                  ? log->status()
                                          : absl::OkStatus(); });
  absl::StatusOr<Position> end = loop.run(start, step_);
  if (!end.ok()) {
    if (end.status().code() == absl::StatusCode::kCancelled) TY_RETURN_IF_ERROR(saver_->wait());
    return end.status();
  }
  return finish(*end, log.get(), out);
}

absl::StatusOr<std::string> Trainer::generate(const SampleOptions& options) {
  if (!language_model()) return absl::InvalidArgumentError("generate: the job's model is not a language model");
  if (pipelined_) return absl::InvalidArgumentError("generate: a pipeline rank holds one stage, not the model");
  Vocabulary loaded;
  if (!data_.vocab) {
    TY_ASSIGN_OR_RETURN(loaded, Vocabulary::load(data_.vocabulary));
  }
  const Vocabulary& vocab = data_.vocab ? *data_.vocab : loaded;
  const Dataset& ref = data_.train ? *data_.train : *data_.test;
  absl::StatusOr<std::string> text = generate_text(*ctx_, *model_, vocab, ref.sample_shape()[0], options);
  model_->set_training(true);
  return text;
}

absl::StatusOr<std::vector<std::string>> Trainer::translate(const std::vector<std::string>& lines) {
  if (!seq2seq()) return absl::InvalidArgumentError("translate: the job's model is not a seq2seq model");
  TY_ASSIGN_OR_RETURN(Translator translator,
                      Translator::create(*ctx_, *model_, pair_vocab_->bos_id(), pair_vocab_->eos_id()));
  std::vector<std::vector<int32_t>> sources;
  std::vector<size_t> where;  // the non-empty lines
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    TY_ASSIGN_OR_RETURN(std::vector<int32_t> ids, source_vocab_->encode(lines[i]));
    sources.push_back(std::move(ids));
    where.push_back(i);
  }
  const std::vector<std::vector<int32_t>> out = translator.translate(sources, decode_options(spec_.eval.beam_size));
  std::vector<std::string> text(lines.size());
  for (size_t k = 0; k < out.size(); ++k) text[where[k]] = pair_vocab_->decode(out[k]);
  if (translator.truncated() > 0)
    LOG(WARNING) << translator.truncated() << " input lines were longer than the model's "
                 << "positions (model.context) and were cut";
  return text;
}

absl::Status Trainer::finish(Position end, MetricsLog* log, FILE* out) {
  if (out)
    if (const std::string comm = strategy_->report(); !comm.empty()) std::fprintf(out, "  %s\n", comm.c_str());
  if (gan()) TY_RETURN_IF_ERROR(write_sample_grid(step_, log, out));  // the last step's, always
  if (spec_.checkpoint.at_end && step_ != saved_step_) TY_RETURN_IF_ERROR(save_checkpoint(end, log));
  TY_RETURN_IF_ERROR(saver_->wait());
  if (log && saves_ > 0) log->checkpoint_io(saves_, saved_bytes_, saver_->seconds_writing());
  // (A GAN's score comes first: a run stopped while scoring has no weights.bin yet, so the
  // same command goes on to score it.)
  if (gan()) TY_RETURN_IF_ERROR(score_fid(log, out));
  if (pipelined_)
    TY_RETURN_IF_ERROR(save_whole_weights());
  else if (leader())
    TY_RETURN_IF_ERROR(save_weights(weights_path(), saved_state()));
  if (data_.test && !gan()) {
    TY_ASSIGN_OR_RETURN(MetricsAccumulator m, evaluate(*data_.test));
    const int64_t last_epoch = end.step_in_epoch > 0 ? end.epoch : std::max<int64_t>(end.epoch - 1, 0);
    ExtraFigures extra;
    std::string extra_line;
    if (seq2seq()) {
      if (out)
        std::fprintf(out, "translating the test split (%ld pairs, beam %ld)\n", static_cast<long>(data_.test->size()),
                     static_cast<long>(spec_.eval.beam_size));
      TY_ASSIGN_OR_RETURN(extra, translation_figures(*data_.test, spec_.eval.beam_size, extra_line));
    }
    if (log) log->eval("test", last_epoch, m, m.classification(), extra);
    if (out && !extra_line.empty()) std::fprintf(out, "test:%s\n", extra_line.c_str());
    if (out && m.tokens())
      std::fprintf(out, "test: loss %.4f, perplexity %.4g, accuracy %.4f (%ld tokens)\n", m.loss(), m.perplexity(),
                   m.accuracy(), static_cast<long>(m.count()));
    else if (out && m.classification())
      std::fprintf(out, "test: loss %.4f, accuracy %.4f (%ld samples)\n", m.loss(), m.accuracy(),
                   static_cast<long>(m.count()));
    else if (out)
      std::fprintf(out, "test: loss %.4f, mse %.6g (%ld samples)\n", m.loss(), m.mse(), static_cast<long>(m.count()));
  }
  if (language_model() && spec_.sample.tokens > 0 && !pipelined_ && leader() && out) {
    const SampleOptions o{spec_.sample.prompt, spec_.sample.tokens, spec_.sample.temperature, spec_.sample.top_k,
                          spec_.train.seed};
    // The run is done and saved: a sample that cannot be made is a note, not a failure.
    const absl::StatusOr<std::string> text = generate(o);
    if (text.ok())
      std::fprintf(out, "sample (%ld tokens, temperature %g, seed %lu):\n%s\n", static_cast<long>(o.tokens),
                   o.temperature, static_cast<unsigned long>(o.seed), text->c_str());
    else
      std::fprintf(out, "sample.prompt: no sample: %s\n", std::string(text.status().message()).c_str());
  }
  if (log) TY_RETURN_IF_ERROR(log->sync());
  if (log && !log->status().ok()) return log->status();
  if (out)
    std::fprintf(out, "weights: %s\nmetrics: %s\n", weights_path().c_str(), join_path(run_dir_, "metrics.jsonl").c_str());
  return absl::OkStatus();
}

}  // namespace ty
