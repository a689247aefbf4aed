// JobSpec: a training job, typed. The parser (worker/job/parser.h) fills it from YAML
// through the key table (worker/job/keys.h), which also holds every key's default, range
// and meaning; the defaults below are the values a spec gets when it leaves a key out.
// A leaf: the coordinator validates specs with it without linking runtime, comm or storage.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "worker/job/enums.h"

namespace ty {

// One entry of an explicit `model.layers:` list; the types and the keys each takes are in
// worker/job/layer_types.h.
struct LayerSpec {
  std::string type = "linear";
  int64_t out = 0;                // linear: output features; conv2d: output channels
  int64_t kernel = 3;             // conv2d
  int64_t stride = 1;             // conv2d; pools: 1 = the pool's size
  int64_t padding = -1;           // conv2d: -1 = "same" (kernel / 2); conv_transpose2d: (kernel - stride) / 2
  int64_t output_padding = 0;     // conv_transpose2d: added to the output's height and width
  bool bias = true;               // conv2d, conv_transpose2d
  std::vector<int64_t> shape;     // reshape: the per-sample shape
  int64_t size = 2;               // pools
  float p = 0.5f;                 // dropout
  float slope = 0.01f;            // leaky_relu
  float forward_ms = 0.f;         // sleep
  float backward_ms = 0.f;        // sleep
  std::vector<LayerSpec> layers;  // residual: the body
};

struct ConvBlockSpec {
  int64_t channels = 32;
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t padding = -1;  // -1 = "same"
  PoolKind pool = PoolKind::kMax;
  int64_t pool_size = 2;
  bool batch_norm = false;
  bool residual = false;  // two convs with a skip connection
};

struct ModelSpec {
  ModelKind kind = ModelKind::kMlp;
  ActivationKind activation = ActivationKind::kRelu;
  float dropout = 0.f;                       // after each hidden activation (mlp, cnn's fc part)
  bool sync_batch_norm = false;              // batch norm statistics over all data-parallel ranks
  std::vector<int64_t> hidden = {256, 256};  // mlp hidden sizes; cnn fc sizes
  std::vector<ConvBlockSpec> conv;           // cnn
  std::vector<LayerSpec> layers;             // layers
  // Language models (rnn, transformer): token embedding, the body, logits over the vocabulary.
  RnnCell cell = RnnCell::kLstm;                    // rnn
  int64_t num_layers = 2;                           // rnn: stacked cells; transformer: blocks
  int64_t hidden_size = 256;                        // rnn
  int64_t embed = 0;                                // rnn: embedding size; 0: hidden_size
  int64_t heads = 4;                                // transformer
  int64_t d_model = 128;                            // transformer
  int64_t d_ff = 0;                                 // transformer: MLP width; 0: 4 × d_model
  int64_t context = 0;                              // transformer: longest sequence (learned positions); 0: the data's
  PositionKind positions = PositionKind::kLearned;  // transformer
  bool tie_embeddings = false;                      // the output layer reuses the embedding table
  // seq2seq over one joint vocabulary: a Transformer encoder and decoder (heads, d_model,
  // d_ff, positions, dropout, tie_embeddings as above) or bidirectional RNN layers and an
  // attentional RNN decoder (cell, hidden_size, embed); 0 layers: model.num_layers.
  Seq2seqArch arch = Seq2seqArch::kTransformer;
  int64_t encoder_layers = 0;
  int64_t decoder_layers = 0;
  Seq2seqEmbeddings embeddings = Seq2seqEmbeddings::kAuto;  // one table for both sides, or one each
  // Not a key: set from the data, the sources' vocabulary when the pairs have one of their
  // own (data import parallel --separate-vocab); 0 with one joint vocabulary.
  int64_t source_vocab = 0;
  // gan: a generator from `latent` noise to images of the data's shape and a discriminator
  // from images to one logit; each an explicit layer list (`model.generator: [...]`) or,
  // empty, the built-in DCGAN of `channels` base width (models/gan.h).
  int64_t latent = 100;
  int64_t channels = 64;
  bool conditional = false;  // the class label embedded in both networks' inputs
  std::vector<LayerSpec> generator, discriminator;
};

struct DataSpec {
  std::string train;         // IDX images, CSV or shards (path or glob)
  std::string train_labels;  // IDX labels; default: derived from `train`
  std::string val;           // (optional) held-out validation set, same format
  std::string test;          // (optional) held-out test set, same format
  std::string test_labels;
  DataFormat format = DataFormat::kAuto;
  std::string target = "label";  // csv: target column
  TaskKind task = TaskKind::kClassification;
  int64_t num_classes = 0;   // 0: from the labels
  int64_t batch_size = 64;   // global batch
  int64_t train_subset = 0;  // > 0: only the first N training samples
  Normalization normalize = Normalization::kNone;
  BatchRemainder remainder = BatchRemainder::kPartial;
  // Text (data.format text, a .txt file) is tokenized at load into next-token records of
  // seq_len tokens, its last val_fraction and test_fraction held out as contiguous blocks,
  // as `data import text` cuts them.
  TokenKind tokens = TokenKind::kBytes;
  int64_t seq_len = 128;
  float val_fraction = 0.f;
  float test_fraction = 0.f;
};

// storage.*: how training shards are read (storage/stream/shard_stream.h).
struct StorageSpec {
  CorruptPolicy on_corrupt = CorruptPolicy::kError;
  LoaderKind loader = LoaderKind::kAuto;
  int64_t prefetch_mb = 256;
  int64_t shuffle_window_mb = 64;
  int64_t reader_threads = 2;
  bool direct_io = false;
  IoMode io = IoMode::kAuto;
  GpuDirect gpu_direct = GpuDirect::kAuto;
  std::string s3_endpoint;        // storage.s3.endpoint ("": AWS_ENDPOINT_URL, else AWS)
  int64_t s3_requests = 8;        // storage.s3.requests_in_flight
};

struct OptimizerSpec {
  OptimizerKind name = OptimizerKind::kAdam;
  float lr = 1e-3f;
  float momentum = 0.f;
  bool nesterov = false;
  float weight_decay = 0.f;
  bool decay_all = false;  // false: no decay on biases, norms and embeddings
  std::vector<float> betas = {0.9f, 0.999f};
  float eps = 1e-8f;
};

// A GAN's optimizers (optimizer.generator, optimizer.discriminator): DCGAN's Adam.
inline OptimizerSpec gan_optimizer_defaults() {
  OptimizerSpec o;
  o.lr = 2e-4f;
  o.betas = {0.5f, 0.999f};
  return o;
}

struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kConstant;
  int64_t step_size = 1000;
  float gamma = 0.1f;
  float min_lr = 0.f;
  int64_t warmup_steps = 0;
};

struct TrainSpec {
  int64_t epochs = 1;
  int64_t max_steps = 0;         // > 0: stop after this many optimizer steps
  int64_t accumulate_steps = 1;  // batches whose gradients add up to one optimizer step
  uint64_t seed = 0;
  LossKind loss = LossKind::kAuto;
  float label_smoothing = 0.f;
  float clip_grad_norm = 0.f;  // > 0: clip by global norm
  int64_t d_steps = 1;         // gan: discriminator updates per step (each on its own batch of noise)
};

// gan.*: a GAN's samples and its Fréchet distance.
struct GanSpec {
  int64_t sample_every_steps = 500;  // a PNG grid of 64 samples from a fixed latent batch; 0: only at the end
  std::string fid_classifier;        // the data set's classifier (FID's features); empty: RUN_DIR/fid_classifier/
  int64_t fid_samples = 10000;       // generated images scored
};

struct CommSpec {
  CommBackend backend = CommBackend::kAuto;
  int64_t timeout_s = 300;  // bound on every collective
  float bucket_mb = 25.f;   // gradient bucket size
};

// parallel.pipeline.partition: a rule, or explicit cut points (layer indices).
struct PartitionSpec {
  PartitionKind kind = PartitionKind::kParameters;
  std::vector<int64_t> cuts;  // kind kCuts: stage s holds layers [cuts[s-1], cuts[s])
};

struct PipelineSpec {
  int64_t stages = 1;        // P; world = data replicas × P
  int64_t microbatches = 0;  // M per replica and batch; 0: 2 × stages (1 without a pipeline)
  PipelineScheduleKind schedule = PipelineScheduleKind::kOneFOneB;
  PartitionSpec partition;
  int64_t microbatches_or_default() const { return microbatches > 0 ? microbatches : stages > 1 ? 2 * stages : 1; }
};

struct ParallelSpec {
  PipelineSpec pipeline;
};

// sample.*: text a language model writes at the end of training (and `generate`'s defaults).
struct SampleSpec {
  int64_t tokens = 0;  // 0: none at the end of training
  std::string prompt = "The";
  float temperature = 0.8f;
  int64_t top_k = 0;
};

// eval.*: how a translation model decodes for its BLEU (greedy after each epoch, beam search
// at the end and in `trainyard translate`).
struct DecodeSpec {
  int64_t beam_size = 5;
  float length_penalty = 1.0f;  // a hypothesis scores its log-probability / length^this
  float max_len_a = 1.5f;       // output tokens at most a · source tokens + b
  int64_t max_len_b = 10;
  int64_t batch_size = 64;      // sentences decoded together
};

struct CheckpointSpec {
  int64_t every_steps = 0;
  float every_minutes = 0.f;
  int64_t keep = 3;
  bool at_end = true;
  std::string dir;  // "": RUN_DIR/checkpoints
};

struct RuntimeSpec {
  int64_t threads = 0;  // 0: cores / ranks on this host
  RunDevice device = RunDevice::kCpu;
  bool bind_cores = true;  // rendezvous-started ranks: each on its share of the host's cores
  bool allow_tf32 = false;
  bool cudnn_benchmark = true;
  Precision precision = Precision::kFp32;
};

// What the coordinator needs to place and supervise a job (`train` under mpirun or srun takes
// its ranks from the launcher).
struct ResourcesSpec {
  int64_t ranks = 1;
  int64_t ranks_per_worker = 0;     // 0: any
  float max_runtime_minutes = 0.f;  // 0: none; past it the job checkpoints and fails
};

struct RestartSpec {
  int64_t max_restarts = 3;  // counted restarts before the job fails
};

struct JobSpec {
  std::string name;  // empty in the file: the spec file's name
  ResourcesSpec resources;
  RestartSpec restart;
  int64_t priority = 0;
  ModelSpec model;
  DataSpec data;
  StorageSpec storage;
  OptimizerSpec optimizer;
  OptimizerSpec generator_optimizer = gan_optimizer_defaults();      // optimizer.generator.*
  OptimizerSpec discriminator_optimizer = gan_optimizer_defaults();  // optimizer.discriminator.*
  ScheduleSpec schedule;
  TrainSpec train;
  CommSpec comm;
  ParallelSpec parallel;
  CheckpointSpec checkpoint;
  SampleSpec sample;
  DecodeSpec eval;
  GanSpec gan;
  float validation_fraction = 0.f;
  RuntimeSpec runtime;
  int64_t log_every_steps = 50;
  // `env`: environment variables for the ranks (e.g. storage credentials); never shown.
  std::map<std::string, std::string> env;

  int local_rank = 0;     // set by the launcher (not a spec key): the GPU is local_rank % GPUs
  std::string spec_yaml;  // the resolved spec, saved in the run directory
};

}  // namespace ty
