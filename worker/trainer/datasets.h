// The train / validation / test datasets a job spec names.
#pragma once

#include "absl/status/statusor.h"
#include "storage/dataset.h"
#include "storage/shard/vocabulary.h"
#include "storage/stream/shard_set.h"
#include "worker/job/spec.h"

namespace ty {

struct JobData {
  DatasetPtr train;
  DatasetPtr val;   // (optional) data.val, or validation.fraction of the training set
  DatasetPtr test;  // (optional) data.test
  // Set when the training shards are streamed (storage.loader): `train` is then the same
  // set, read by the trainer through a ShardStream rather than gathered.
  std::shared_ptr<const ShardSet> train_shards;
  int64_t classes = 0;                      // 0: regression; token data: the vocabulary
  bool tokens = false;                      // token records (i32 ids, next-token labels): a language model's data
  std::string vocabulary;                   // token shards: the vocabulary file beside them (pairs: the target's)
  std::string source_vocabulary;            // token pairs with a vocabulary per side: the source's; else ""
  std::shared_ptr<const Vocabulary> vocab;  // text tokenized at load: its vocabulary
  int64_t outputs = 0;                      // model outputs per sample
  // data.normalize: standardize: the mapping applied to every split. Training computes it
  // from the training split; evaluation takes it from the weights file.
  bool standardized = false;
  float input_mean = 0.f, input_std = 1.f;

  // Wraps every split so features become (x - mean) / std.
  void standardize(float mean, float std);
};

// Opens the files named by `spec.data` (IDX, CSV, shards, or text tokenized here), applies data.train_subset and carves
// the validation split out of the training set with a permutation fixed by train.seed.
// With data.normalize: standardize and `need_train`, standardizes by the training split.
// Training shards are streamed (storage.loader auto or stream) unless a validation split
// or a subset needs them in memory; the test set is read into memory.
absl::StatusOr<JobData> load_job_data(const JobSpec& spec, bool need_train = true);

}  // namespace ty
