#include "worker/job/keys.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/job/layer_types.h"

namespace ty {
namespace {

constexpr double kBig = double(int64_t{1} << 40);

template <typename X>
FieldRef bind_field(X& x) {
  if constexpr (std::is_enum_v<X>)
    return enum_ref(x);
  else
    return &x;
}

#define JOB(expr) [](JobSpec& s) { return bind_field(s.expr); }
#define CONV(expr) [](ConvBlockSpec& c) { return bind_field(c.expr); }
#define LAYER(expr) [](LayerSpec& l) { return bind_field(l.expr); }

constexpr Range kNone{};
constexpr Range at_least(double lo) { return {lo, kBig}; }
constexpr Range closed(double lo, double hi) { return {lo, hi}; }
constexpr Range half_open(double lo, double hi) { return {lo, hi, false, true}; }    // [lo, hi)
constexpr Range open_closed(double lo, double hi) { return {lo, hi, true, false}; }  // (lo, hi]

}  // namespace

const std::vector<Key<JobSpec>>& job_keys() {
  static const std::vector<Key<JobSpec>> keys = {
      {"name", JOB(name), kNone,
       "the run directory's name: a letter or digit, then up to 127 of letters, digits, `.`, `_`, `-`", "file name"},
      {"model.kind", JOB(model.kind), kNone,
       "`mlp`, `cnn` (`model.conv` blocks, then `model.hidden`), `layers` (`model.layers`); language models on token "
       "data: `rnn` (embedding, `model.num_layers` LSTM or GRU cells, logits), `transformer` (embedding and positions, "
       "`model.num_layers` pre-norm blocks, logits); on token pairs (data import parallel): `seq2seq` (an encoder and "
       "decoder: `model.arch`, `model.embeddings`)"},
      {"model.hidden", JOB(model.hidden), closed(1, 1 << 24),
       "hidden layer sizes (mlp), fully connected sizes after the conv blocks (cnn)"},
      {"model.activation", JOB(model.activation), kNone, "`leaky_relu` has slope 0.01"},
      {"model.dropout", JOB(model.dropout), half_open(0, 1),
       "dropout after each hidden activation (mlp, cnn); rnn: on the embeddings, between cells and before the "
       "logits; transformer: on the embeddings and on each block's two residual branches (not on the attention "
       "weights)"},
      {"model.cell", JOB(model.cell), kNone, "rnn: `lstm` or `gru` (linear-before-reset, as cuDNN and PyTorch)"},
      {"model.num_layers", JOB(model.num_layers), closed(1, 1024), "rnn: stacked cells; transformer: blocks"},
      {"model.hidden_size", JOB(model.hidden_size), closed(1, 1 << 16), "rnn: each cell's state size"},
      {"model.embed", JOB(model.embed), closed(0, 1 << 16), "rnn: token embedding size; 0: `model.hidden_size`"},
      {"model.heads", JOB(model.heads), closed(1, 1024), "transformer: attention heads (must divide `model.d_model`)"},
      {"model.d_model", JOB(model.d_model), closed(1, 1 << 16), "transformer: embedding and residual width"},
      {"model.d_ff", JOB(model.d_ff), closed(0, 1 << 18), "transformer: each block's MLP width; 0: 4 × `d_model`"},
      {"model.context", JOB(model.context), closed(0, 1 << 20),
       "transformer: the longest sequence it takes (learned positions, generation's window); 0: the data's sequence "
       "length"},
      {"model.positions", JOB(model.positions), kNone, "transformer: `learned` or `sinusoidal` position embeddings"},
      {"model.tie_embeddings", JOB(model.tie_embeddings), kNone,
       "rnn, transformer: the output layer reuses the token embedding table (rnn: needs `embed` = `hidden_size`)"},
      {"model.arch", JOB(model.arch), kNone,
       "seq2seq: `transformer` (pre-norm encoder and decoder blocks) or `rnn` (bidirectional `model.cell` layers of "
       "`model.hidden_size` each way, an attentional decoder of `model.hidden_size`, embeddings of `model.embed`)"},
      {"model.embeddings", JOB(model.embeddings), kNone,
       "seq2seq: `shared` (one table for the source and the target), `separate` (a table each), `auto` (shared "
       "with one joint vocabulary, separate with a vocabulary per side: data import parallel --separate-vocab)"},
      {"model.encoder_layers", JOB(model.encoder_layers), closed(0, 1024),
       "seq2seq: encoder blocks (rnn: bidirectional layers); 0: `model.num_layers`"},
      {"model.decoder_layers", JOB(model.decoder_layers), closed(0, 1024),
       "seq2seq: decoder blocks (self-attention, cross-attention, MLP; rnn: stacked cells); 0: `model.num_layers`"},
      {"model.latent", JOB(model.latent), closed(1, 1 << 16), "gan: the generator's noise vector size"},
      {"model.channels", JOB(model.channels), closed(1, 1 << 14),
       "gan: the built-in DCGAN's base width (the discriminator's first convolution; doubling each halving)"},
      {"model.conditional", JOB(model.conditional), kNone,
       "gan: both networks also take the class label: its embedding (`model.latent` wide) beside the generator's "
       "noise, and its embedding (H × W wide) as one more channel of the discriminator's image"},
      {"model.sync_batch_norm", JOB(model.sync_batch_norm), kNone,
       "batch norm statistics (and their gradients) over all data-parallel ranks instead of per rank (CPU only)"},
      {"data.train", JOB(data.train), kNone,
       "IDX images file (gz or raw; labels found by replacing `images-idx3` with `labels-idx1`), a `.csv` file, or "
       "shards by path or glob (`shards/fmnist-train-*`)",
       "required"},
      {"data.train_labels", JOB(data.train_labels), kNone, "IDX labels file, when its name does not follow the pattern",
       "derived"},
      {"data.val", JOB(data.val), kNone,
       "held-out validation set, same format as `data.train`, evaluated after each epoch (not with "
       "`validation.fraction`)",
       "—"},
      {"data.test", JOB(data.test), kNone, "held-out test set, same format as `data.train`", "—"},
      {"data.test_labels", JOB(data.test_labels), kNone, "IDX labels of the test set", "derived"},
      {"data.format", JOB(data.format), kNone,
       "`auto`: `.csv` is csv, `.txt` is text (tokenized at load), a glob or `.tyshard` is shards, anything else idx"},
      {"data.tokens", JOB(data.tokens), kNone, "text: `bytes` (vocabulary of 256) or `words` (whitespace-separated)"},
      {"data.seq_len", JOB(data.seq_len), closed(1, 1 << 20), "text: tokens per record (each also predicts the next)"},
      {"data.val_fraction", JOB(data.val_fraction), half_open(0, 1),
       "text: the share before the test block held out for validation after each epoch (contiguous, as `data import "
       "text --val-fraction`)"},
      {"data.test_fraction", JOB(data.test_fraction), half_open(0, 1),
       "text: the last share held out as the test set (contiguous)"},
      {"data.target", JOB(data.target), kNone, "CSV target column; every other column is a feature"},
      {"data.task", JOB(data.task), kNone, "`classification` (integer labels) or `regression` (CSV only)"},
      {"data.num_classes", JOB(data.num_classes), closed(0, 1 << 24),
       "0: from the labels; otherwise at least the largest label + 1"},
      {"data.batch_size", JOB(data.batch_size), closed(1, 1 << 20), "global batch, split evenly among the ranks"},
      {"data.train_subset", JOB(data.train_subset), at_least(0), "> 0: use only the first N training samples"},
      {"data.normalize", JOB(data.normalize), kNone,
       "`standardize`: features become (x − mean) / std with the training set's mean and std (also at eval); "
       "`symmetric`: [0, 1] features (image pixels) become [−1, 1], 2x − 1 (a GAN's, to match its generator's tanh)"},
      {"data.remainder", JOB(data.remainder), kNone,
       "the last short global batch of an epoch: `partial` (kept; with N ranks cut into N equal shares, dropping up to "
       "N−1 samples), `drop`, `pad` (filled from the start of the epoch's order)"},
      {"optimizer.name", JOB(optimizer.name), kNone, "`adamw` decays weights decoupled from the gradient"},
      {"optimizer.lr", JOB(optimizer.lr), open_closed(0, 1e3), "the base learning rate"},
      {"optimizer.momentum", JOB(optimizer.momentum), half_open(0, 1), "sgd"},
      {"optimizer.nesterov", JOB(optimizer.nesterov), kNone, "sgd, needs momentum"},
      {"optimizer.weight_decay", JOB(optimizer.weight_decay), closed(0, 1e3), "L2 for sgd/adam, decoupled for adamw"},
      {"optimizer.decay_all", JOB(optimizer.decay_all), kNone,
       "false: weight decay skips biases, normalization scales and shifts (1-D parameters) and embedding tables; "
       "true: every parameter"},
      {"optimizer.betas", JOB(optimizer.betas), Range{0, 1, false, true, 2}, "adam/adamw"},
      {"optimizer.eps", JOB(optimizer.eps), open_closed(0, 1), "adam/adamw"},
      {"optimizer.generator.name", JOB(generator_optimizer.name), kNone, "gan: the generator's optimizer"},
      {"optimizer.generator.lr", JOB(generator_optimizer.lr), open_closed(0, 1e3), "gan: the generator's learning rate (scheduled as `optimizer.lr`)"},
      {"optimizer.generator.betas", JOB(generator_optimizer.betas), Range{0, 1, false, true, 2}, "gan: adam/adamw"},
      {"optimizer.generator.eps", JOB(generator_optimizer.eps), open_closed(0, 1), "gan: adam/adamw"},
      {"optimizer.generator.momentum", JOB(generator_optimizer.momentum), half_open(0, 1), "gan: sgd"},
      {"optimizer.generator.weight_decay", JOB(generator_optimizer.weight_decay), closed(0, 1e3), "gan"},
      {"optimizer.discriminator.name", JOB(discriminator_optimizer.name), kNone, "gan: the discriminator's optimizer"},
      {"optimizer.discriminator.lr", JOB(discriminator_optimizer.lr), open_closed(0, 1e3), "gan: the discriminator's learning rate (scheduled as `optimizer.lr`)"},
      {"optimizer.discriminator.betas", JOB(discriminator_optimizer.betas), Range{0, 1, false, true, 2}, "gan: adam/adamw"},
      {"optimizer.discriminator.eps", JOB(discriminator_optimizer.eps), open_closed(0, 1), "gan: adam/adamw"},
      {"optimizer.discriminator.momentum", JOB(discriminator_optimizer.momentum), half_open(0, 1), "gan: sgd"},
      {"optimizer.discriminator.weight_decay", JOB(discriminator_optimizer.weight_decay), closed(0, 1e3), "gan"},
      {"schedule.kind", JOB(schedule.kind), kNone,
       "`step` (× `gamma` every `step_size` steps), `cosine` (to `min_lr` at the last step), `inverse_sqrt` (lr × "
       "√(warmup_steps / step) after the warm-up)"},
      {"schedule.step_size", JOB(schedule.step_size), at_least(1), "step"},
      {"schedule.gamma", JOB(schedule.gamma), open_closed(0, 1e3), "step"},
      {"schedule.min_lr", JOB(schedule.min_lr), closed(0, 1e3), "cosine"},
      {"schedule.warmup_steps", JOB(schedule.warmup_steps), at_least(0), "linear warm-up before any kind"},
      {"train.epochs", JOB(train.epochs), closed(1, 1 << 24), "passes over the training set"},
      {"train.max_steps", JOB(train.max_steps), at_least(0), "> 0: stop after this many optimizer steps"},
      {"train.accumulate_steps", JOB(train.accumulate_steps), closed(1, 65536),
       "batches whose gradients add up (averaged) to one optimizer step: the step sees accumulate_steps × "
       "data.batch_size samples; steps, train.max_steps and the learning-rate schedule count optimizer steps, and "
       "an epoch's last batches that do not fill a step are left out, and a short batch weighs by its samples"},
      {"train.seed", JOB(train.seed), kNone,
       "seeds initialization, shuffling, dropout and the validation split (Philox)"},
      {"train.loss", JOB(train.loss), kNone,
       "`auto`: cross_entropy for labels, mse for regression; `bce_with_logits` makes labels one-hot targets"},
      {"train.label_smoothing", JOB(train.label_smoothing), half_open(0, 1), "cross_entropy"},
      {"train.clip_grad_norm", JOB(train.clip_grad_norm), closed(0, 1e9), "> 0: clip gradients by global L2 norm"},
      {"train.d_steps", JOB(train.d_steps), closed(1, 100),
       "gan: discriminator updates per step (each on its own batch of real images and noise) before the generator's"},
      {"validation.fraction", JOB(validation_fraction), half_open(0, 1),
       "held out of the training set, evaluated each epoch"},
      {"resources.ranks", JOB(resources.ranks), closed(1, 65536),
       "ranks the coordinator starts for the job (`submit --ranks` overrides it); `train` under mpirun or srun takes "
       "the launcher's"},
      {"resources.ranks_per_worker", JOB(resources.ranks_per_worker), closed(0, 4096),
       "at most this many of the job's ranks on one worker; 0: any (the coordinator packs ranks onto as few workers "
       "as it can)"},
      {"resources.max_runtime_minutes", JOB(resources.max_runtime_minutes), closed(0, 1e7),
       "> 0: the coordinator stops the job past this much running time (over all its attempts), with a "
       "checkpoint, and fails it; 0: no limit"},
      {"priority", JOB(priority), closed(-1000000, 1000000),
       "the coordinator starts jobs by priority, highest first, then in submission order (`submit --priority` "
       "overrides it)"},
      {"restart.max_restarts", JOB(restart.max_restarts), closed(0, 1000),
       "counted restarts (a rank exiting 1 or 3 or killed by a signal) before the coordinator fails the job; a lost "
       "worker's restart is not counted"},
      {"gan.sample_every_steps", JOB(gan.sample_every_steps), at_least(0),
       "gan: a PNG grid of 64 samples from a fixed latent batch every N steps (and at the end; 0: only at the end), "
       "`samples/step-N.png` in the run directory"},
      {"gan.fid_classifier", JOB(gan.fid_classifier), kNone,
       "gan: weights of a classifier of the same data (the CNN example's) whose penultimate layer gives FID's "
       "features; empty: the run trains one first and keeps it in `RUN_DIR/fid_classifier/`",
       "—"},
      {"gan.fid_samples", JOB(gan.fid_samples), closed(2, 1 << 24), "gan: generated images FID scores"},
      {"sample.tokens", JOB(sample.tokens), closed(0, 1 << 20),
       "language models: > 0: after training, print this many tokens sampled after `sample.prompt` (as "
       "`trainyard generate` would)"},
      {"eval.beam_size", JOB(eval.beam_size), closed(1, 256),
       "seq2seq: the beam of the final BLEU and of `trainyard translate` (1: greedy)"},
      {"eval.length_penalty", JOB(eval.length_penalty), closed(0, 10),
       "seq2seq beam search: hypotheses compare by log-probability / length^this"},
      {"eval.max_len_a", JOB(eval.max_len_a), closed(0, 100), "seq2seq: outputs stop at `max_len_a` × source tokens + `max_len_b`"},
      {"eval.max_len_b", JOB(eval.max_len_b), closed(0, 1 << 20), "seq2seq: see `eval.max_len_a`"},
      {"eval.batch_size", JOB(eval.batch_size), closed(1, 1 << 16), "seq2seq: sentences decoded together"},
      {"sample.prompt", JOB(sample.prompt), kNone, "the text the sample continues"},
      {"sample.temperature", JOB(sample.temperature), closed(0, 100),
       "divides the logits before sampling; 0: always the likeliest token"},
      {"sample.top_k", JOB(sample.top_k), closed(0, 1 << 24), "> 0: sample among the k likeliest tokens only"},
      {"checkpoint.every_steps", JOB(checkpoint.every_steps), at_least(0), "> 0: checkpoint every N optimizer steps"},
      {"checkpoint.every_minutes", JOB(checkpoint.every_minutes), closed(0, 1e6),
       "> 0: checkpoint every N minutes (wall clock)"},
      {"checkpoint.keep", JOB(checkpoint.keep), closed(1, 1000),
       "complete checkpoints kept (the newest is never removed before a newer one commits)"},
      {"checkpoint.at_end", JOB(checkpoint.at_end), kNone, "checkpoint after the last step"},
      {"checkpoint.dir", JOB(checkpoint.dir), kNone,
       "where checkpoints go: a directory or an s3://bucket/prefix; empty: RUN_DIR/checkpoints. Resume looks there"},
      {"storage.on_corrupt", JOB(storage.on_corrupt), kNone,
       "shards: `error` (fail naming file, record and byte offset) or `skip` (count, log and leave out bad records; "
       "the count is in each `epoch` record of metrics.jsonl)"},
      {"storage.loader", JOB(storage.loader), kNone,
       "training shards: `stream` (read ahead by background threads), `memory` (all records read and checked at "
       "start); `auto` streams unless `validation.fraction` or `data.train_subset` needs them in memory. The test set "
       "is always read into memory"},
      {"storage.shuffle_window_mb", JOB(storage.shuffle_window_mb), closed(1, 1 << 20),
       "streaming order: shards in a random order per epoch, their records cut into windows of this size, each "
       "window shuffled. Part of the data order (a resume under another value is refused)"},
      {"storage.prefetch_mb", JOB(storage.prefetch_mb), closed(1, 1 << 20),
       "records read ahead and held per rank (at least the window a batch needs is always read)"},
      {"storage.reader_threads", JOB(storage.reader_threads), closed(1, 64),
       "background threads reading shards per rank"},
      {"storage.direct_io", JOB(storage.direct_io), kNone,
       "read with O_DIRECT (bypass the page cache; 4 KiB-aligned reads). A filesystem without it (tmpfs) is an error "
       "naming the key"},
      {"storage.io", JOB(storage.io), kNone,
       "without O_DIRECT: `mmap` (the page cache read in place; a shard cut short during the run is an error), "
       "`pread` (large reads into the loader's buffers), `auto` (mmap on local disk filesystems, pread elsewhere)"},
      {"storage.gpu_direct", JOB(storage.gpu_direct), kNone,
       "a GPU rank's shards: `auto` (GPUDirect Storage — cuFile reads into device memory, CRC32C checked there — "
       "where it is live, else the staged path: reads into page-locked memory, copies on a copy stream, records "
       "decoded on the GPU), `on` (cuFile, or an error before training naming why it is not live), `off` (staged). "
       "The run header names the path"},
      {"storage.s3.endpoint", JOB(storage.s3_endpoint), kNone,
       "the S3-compatible store for s3://bucket/key paths (shards, run and checkpoint directories), as "
       "http(s)://host:port, addressed path-style; empty: AWS_ENDPOINT_URL, else AWS itself. Credentials and region "
       "come from the standard AWS_* variables or ~/.aws/credentials"},
      {"storage.s3.requests_in_flight", JOB(storage.s3_requests), closed(1, 256),
       "ranged GETs of 8-16 MiB each rank keeps in flight on s3:// shards (within storage.prefetch_mb)"},
      {"parallel.pipeline.stages", JOB(parallel.pipeline.stages), closed(1, 1024),
       "pipeline stages P: the model's layers are cut into P consecutive stages on P ranks; the job's ranks are "
       "data replicas × P (rank = replica × P + stage)"},
      {"parallel.pipeline.microbatches", JOB(parallel.pipeline.microbatches), closed(0, 65536),
       "micro-batches M each replica's share of a batch is cut into (all flow through one schedule per optimizer "
       "step, × train.accumulate_steps); 0: 2 × stages (1 on one stage). data.batch_size must divide by M × replicas. "
       "With one stage "
       "the micro-batches' gradients add up as with train.accumulate_steps (so a pipeline's run resumes on one stage "
       "exactly)"},
      {"parallel.pipeline.schedule", JOB(parallel.pipeline.schedule), kNone,
       "`gpipe`: every forward, then every backward (M micro-batches' activations live); `1f1b`: one forward, one "
       "backward after a warm-up (at most P − stage live), needs M ≥ P"},
      {"parallel.pipeline.partition", JOB(parallel.pipeline.partition), kNone,
       "where the stages are cut: `parameters` (balance parameter counts), `uniform` (layer counts), `time` "
       "(balance each layer's forward + backward time on a micro-batch, which rank 0 measures before training), or "
       "P − 1 cut points "
       "[c1, c2, ...]: stage s holds layers [c_s, c_s+1)"},
      {"comm.backend", JOB(comm.backend), kNone,
       "`auto`: MPI when launched by mpirun/srun with more than one rank, UCX for ranks started through "
       "TRAINYARD_RANK and TRAINYARD_RENDEZVOUS; `ucx` under mpirun/srun meets through MPI, then talks over UCX"},
      {"comm.timeout_s", JOB(comm.timeout_s), closed(1, 1 << 24),
       "bound on every collective; past it the rank fails naming the operation, rank and elapsed time, and on the host "
       "communicator the ranks that never reached it (found through RUN_DIR/.arrivals when every rank sees the run "
       "directory)"},
      {"comm.bucket_mb", JOB(comm.bucket_mb), open_closed(0, 1 << 16), "gradient bucket size for data parallel"},
      {"runtime.threads", JOB(runtime.threads), closed(0, 1024),
       "intra-op threads (oneDNN, OpenMP); 0: cores / ranks on the host"},
      {"runtime.device", JOB(runtime.device), kNone,
       "`cuda`: one GPU per rank (the rank's local rank modulo the host's GPUs); without a CUDA device the run stops "
       "before training with exit 2 saying so"},
      {"runtime.precision", JOB(runtime.precision), kNone,
       "on CUDA, `bf16` or `fp16`: matrix products and convolutions take inputs rounded to 16 bits and accumulate in "
       "f32; `fp16` scales the loss dynamically"},
      {"runtime.bind_cores", JOB(runtime.bind_cores), kNone,
       "ranks started through TRAINYARD_RANK, several on a host: local rank r of L keeps to the r-th of L equal "
       "blocks of the host's physical cores (with their hyperthreads), as mpirun binds its ranks (unbound ranks ran "
       "an epoch up to 20% slower); a process its launcher or numactl already bound is left alone"},
      {"runtime.allow_tf32", JOB(runtime.allow_tf32), kNone,
       "CUDA: TF32 tensor cores for f32 matrix products and convolutions"},
      {"runtime.cudnn_benchmark", JOB(runtime.cudnn_benchmark), kNone,
       "CUDA: time cuDNN's convolution algorithms on the first use of each shape and keep the fastest"},
      {"log.every_steps", JOB(log_every_steps), at_least(1), "train records and plain progress lines"},
  };
  return keys;
}

const std::vector<Key<ConvBlockSpec>>& conv_block_keys() {
  static const std::vector<Key<ConvBlockSpec>> keys = {
      {"channels", CONV(channels), closed(1, 1 << 16), "output channels"},
      {"kernel", CONV(kernel), closed(1, 64), "square kernel size"},
      {"stride", CONV(stride), closed(1, 64), "convolution stride"},
      {"padding", CONV(padding), closed(-1, 64), "-1: same (kernel / 2)"},
      {"pool", CONV(pool), kNone, "pooling after the block"},
      {"pool_size", CONV(pool_size), closed(1, 64), "pooling window and stride"},
      {"batch_norm", CONV(batch_norm), kNone, "batch norm after each convolution"},
      {"residual", CONV(residual), kNone, "two convolutions with a skip connection"},
  };
  return keys;
}

const std::vector<Key<LayerSpec>>& layer_keys() {
  static const std::vector<Key<LayerSpec>> keys = {
      {"type", LAYER(type), kNone, "the layer: one of the types below", "required"},
      {"out", LAYER(out), closed(1, 1 << 24), "output features (linear), output channels (conv2d); required", "—"},
      {"kernel", LAYER(kernel), closed(1, 64), "square kernel size"},
      {"stride", LAYER(stride), closed(1, 64), "stride; pools: 1 means the pool's size"},
      {"padding", LAYER(padding), closed(-1, 64),
       "-1: same (kernel / 2); conv_transpose2d: (kernel - stride) / 2, so that the output is stride × the input "
       "when kernel - stride is even"},
      {"output_padding", LAYER(output_padding), closed(0, 63),
       "conv_transpose2d: rows and columns added to the output (below the stride)"},
      {"bias", LAYER(bias), kNone, "conv2d, conv_transpose2d: a per-channel bias (off before a batchnorm)"},
      {"shape", LAYER(shape), closed(1, 1 << 24), "reshape: the per-sample shape, e.g. [128, 7, 7]"},
      {"size", LAYER(size), closed(1, 64), "pooling window"},
      {"p", LAYER(p), half_open(0, 1), "drop probability"},
      {"slope", LAYER(slope), closed(0, 1), "negative slope"},
      {"forward_ms", LAYER(forward_ms), closed(0, 60000), "milliseconds its forward waits"},
      {"backward_ms", LAYER(backward_ms), closed(0, 60000), "milliseconds its backward waits"},
  };
  return keys;
}

#undef JOB
#undef CONV
#undef LAYER

namespace {

std::string number_text(double v) {
  if (v == kBig) return "2^40";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrCat(v);
}

struct ValueText {
  std::string operator()(const std::string* s) const { return *s; }
  std::string operator()(const bool* b) const { return *b ? "true" : "false"; }
  std::string operator()(const int64_t* v) const { return absl::StrCat(*v); }
  std::string operator()(const uint64_t* v) const { return absl::StrCat(*v); }
  std::string operator()(const float* v) const { return absl::StrCat(*v); }
  std::string operator()(const std::vector<int64_t>* v) const {
    return absl::StrCat("[", absl::StrJoin(*v, ", "), "]");
  }
  std::string operator()(const std::vector<float>* v) const { return absl::StrCat("[", absl::StrJoin(*v, ", "), "]"); }
  std::string operator()(const EnumRef& e) const { return std::string(e.names[e.get(e.field)]); }
  std::string operator()(const PartitionSpec* p) const {
    return p->kind == PartitionKind::kCuts ? (*this)(&p->cuts) : name_of(p->kind);
  }
};

std::string interval_text(const Range& r, bool integer) {
  if (integer) {
    if (r.hi == kBig) return absl::StrCat("≥ ", number_text(r.lo));
    return absl::StrCat(number_text(r.lo), " to ", number_text(r.hi));
  }
  return absl::StrCat(r.lo_open ? "(" : "[", number_text(r.lo), ", ", number_text(r.hi), r.hi_open ? ")" : "]");
}

struct AllowedText {
  const Range& r;
  std::string operator()(const std::string*) const { return "text"; }
  std::string operator()(const bool*) const { return "`true`, `false`"; }
  std::string operator()(const int64_t*) const { return interval_text(r, true); }
  std::string operator()(const uint64_t*) const { return "0 to 2^64 − 1"; }
  std::string operator()(const float*) const { return interval_text(r, false); }
  std::string operator()(const std::vector<int64_t>*) const {
    return absl::StrCat("list, each ", interval_text(r, true));
  }
  std::string operator()(const std::vector<float>*) const {
    return absl::StrCat(r.count, " numbers, each in ", interval_text(r, false));
  }
  std::string operator()(const EnumRef& e) const {
    std::vector<std::string> quoted;
    for (const char* n : e.names) quoted.push_back(absl::StrCat("`", n, "`"));
    return absl::StrJoin(quoted, ", ");
  }
  std::string operator()(const PartitionSpec*) const {
    return "`parameters`, `uniform`, `time`, or a list of cut points (layer indices, ascending)";
  }
};

template <typename T>
void append_row(std::string& out, const Key<T>& k, const char* prefix) {
  T defaults{};
  {
    const FieldRef f = k.field(defaults);
    const std::string def =
        *k.default_text == '\0' ? absl::StrCat("`", std::visit(ValueText{}, f), "`") : std::string(k.default_text);
    std::string meaning(k.meaning);
    if constexpr (std::is_same_v<T, LayerSpec>)  // a layer key names the types that take it
      if (std::string types = layer_types_taking(k.path); !types.empty()) meaning = absl::StrCat(types, ": ", meaning);
    std::string allowed = std::visit(AllowedText{k.range}, f);
    if constexpr (std::is_same_v<T, LayerSpec>)
      if (std::string_view(k.path) == "type") allowed = layer_type_names();
    absl::StrAppend(&out, "| `", prefix, k.path, "` | ", def, " | ", allowed, " | ", meaning, " |\n");
  }
}

}  // namespace

std::string value_text(const FieldRef& f) { return std::visit(ValueText{}, f); }
std::string allowed_text(const FieldRef& f, const Range& r) { return std::visit(AllowedText{r}, f); }

std::string spec_reference_markdown() {
  std::string out = "| key | default | allowed | meaning |\n|---|---|---|---|\n";
  absl::StrAppend(&out, "| `", kEnvKey,
                  "` | — | map of NAME: value | environment variables for the job's ranks (storage credentials, "
                  "`UCX_*`, ...); NAME is [A-Za-z_][A-Za-z0-9_]*, not `TRAINYARD_*`; set before the rank starts "
                  "anything; the values are never shown (the run directory's job.yaml holds `<not shown>`) |\n");
  const std::vector<Key<JobSpec>>& keys = job_keys();
  for (size_t i = 0; i < keys.size(); ++i) {
    append_row(out, keys[i], "");
    const bool last_model_key = absl::StartsWith(keys[i].path, "model.") &&
                                (i + 1 == keys.size() || !absl::StartsWith(keys[i + 1].path, "model."));
    if (!last_model_key) continue;
    // The lists of structs follow the other model keys.
    absl::StrAppend(&out, "| `", kConvBlocksKey,
                    "` | — | list of blocks | cnn: the convolution blocks, each with the keys below |\n");
    for (const auto& k : conv_block_keys()) append_row(out, k, "model.conv[].");
    absl::StrAppend(&out, "| `", kLayersKey,
                    "` | — | list of layers | layers: the model, each layer with the keys below |\n");
    for (const auto& k : layer_keys()) append_row(out, k, "model.layers[].");
    absl::StrAppend(&out, "| `model.layers[].", kResidualBodyKey,
                    "` | — | list of layers | residual: the body, added to its input |\n");
    absl::StrAppend(&out, "| `", kGeneratorKey,
                    "` | dcgan | `dcgan` or a list of layers | gan: noise (`model.latent`) to images of the data's "
                    "shape; the layers as in `model.layers` (e.g. `linear`, `reshape`, `conv_transpose2d`, "
                    "`batchnorm`, `relu`, `tanh`) |\n");
    absl::StrAppend(&out, "| `", kDiscriminatorKey,
                    "` | dcgan | `dcgan` or a list of layers | gan: images to one logit, (1) |\n");
    for (const LayerTypeInfo& t : layer_types()) {
      std::vector<std::string> takes;
      for (std::string_view key : t.keys)
        takes.push_back(
            absl::StrCat(std::string(key), std::count(t.required.begin(), t.required.end(), key) ? " (required)" : ""));
      if (t.body) takes.emplace_back(kResidualBodyKey);
      absl::StrAppend(&out, "| `type: ", t.name, "` | — | ", takes.empty() ? "—" : absl::StrJoin(takes, ", "), " | ",
                      t.meaning, " |\n");
    }
  }
  return out;
}

}  // namespace ty
