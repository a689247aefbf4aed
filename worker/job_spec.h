// JobSpec: a training job as the trainer sees it, after launch/ has parsed and checked the
// YAML. Every field has the default a job gets when its spec leaves the key out; the job
// spec reference in README.md lists them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/model_spec.h"
#include "runtime/optim/schedule.h"

namespace ty {

struct DataSpec {
  std::string train;            // IDX images file or CSV file
  std::string train_labels;     // IDX labels file; default: derived from `train`
  std::string test;             // (optional) held-out test set, same format
  std::string test_labels;
  std::string format = "auto";  // auto | idx | csv | shards
  std::string target = "label"; // csv: target column
  std::string task = "classification";  // classification | regression (csv)
  int64_t num_classes = 0;      // 0: from the labels
  int64_t batch_size = 64;      // global batch
  int64_t train_subset = 0;     // > 0: use only the first N training samples
  std::string normalize = "none";  // none | standardize (by training-set mean and std)
  std::string remainder = "partial";  // last short batch of an epoch: partial | drop | pad
  std::string on_corrupt = "error";   // shards: error | skip (storage.on_corrupt)
};

// storage.*: how training shards are read (storage/stream/shard_stream.h).
struct StorageSpec {
  std::string loader = "auto";    // auto (stream shards) | stream | memory (read all at start)
  int64_t prefetch_mb = 256;      // records read ahead and held, per rank
  int64_t shuffle_window_mb = 64; // records shuffled together (part of the data order)
  int reader_threads = 2;         // background pread threads per rank
  bool direct_io = false;         // O_DIRECT: bypass the page cache
  std::string io = "auto";        // auto (mmap on local disks, pread elsewhere) | pread | mmap
};

struct OptimizerSpec {
  std::string name = "adam";  // sgd | adam | adamw
  float lr = 1e-3f;
  float momentum = 0.f;
  bool nesterov = false;
  float weight_decay = 0.f;
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;
};

struct TrainSpec {
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: stop after this many optimizer steps
  uint64_t seed = 0;
  std::string loss = "auto";  // auto | cross_entropy | mse | bce_with_logits
  float label_smoothing = 0.f;
  float clip_grad_norm = 0.f;  // > 0: clip by global norm
};

struct CommSpec {
  std::string backend = "auto";  // auto (mpi when launched by mpirun/srun) | mpi | none
  int timeout_s = 300;           // bound on every collective
  float bucket_mb = 25.f;        // gradient bucket size
};

struct CheckpointSpec {
  int64_t every_steps = 0;    // > 0: checkpoint every N optimizer steps
  float every_minutes = 0.f;  // > 0: and/or every N minutes
  int keep = 3;               // complete checkpoints kept
  bool at_end = true;         // after the last step
};

struct JobSpec {
  std::string name = "job";
  ModelSpec model;
  DataSpec data;
  StorageSpec storage;
  OptimizerSpec optimizer;
  ScheduleOptions schedule;
  TrainSpec train;
  CommSpec comm;
  CheckpointSpec checkpoint;
  float validation_fraction = 0.f;
  int runtime_threads = 0;  // 0: cores / ranks on this host
  std::string runtime_device = "cpu";
  bool runtime_allow_tf32 = false;  // CUDA: TF32 tensor cores for f32 matmul and convolution
  bool runtime_cudnn_benchmark = true;  // CUDA: time cuDNN's convolution algorithms per shape
  std::string runtime_precision = "fp32";  // fp32 | bf16 | fp16 (CUDA: mixed precision; fp16 scales the loss)
  int local_rank = 0;               // set by the launcher (not a spec key): the GPU is local_rank % GPUs
  int64_t log_every_steps = 50;
  std::string spec_yaml;  // the resolved spec, saved in the run directory
};

}  // namespace ty
