// The train / validation / test datasets a job spec names.
#pragma once

#include "absl/status/statusor.h"
#include "storage/dataset.h"
#include "worker/job_spec.h"

namespace ty {

struct JobData {
  DatasetPtr train;
  DatasetPtr val;   // (optional) validation.fraction of the training set
  DatasetPtr test;  // (optional) data.test
  int64_t classes = 0;  // 0: regression
  int64_t outputs = 0;  // model outputs per sample
  // data.normalize: standardize: the mapping applied to every split. Training computes it
  // from the training split; evaluation takes it from the weights file.
  bool standardized = false;
  float input_mean = 0.f, input_std = 1.f;

  // Wraps every split so features become (x - mean) / std.
  void standardize(float mean, float std);
};

// Opens the files named by `spec.data` (IDX or CSV), applies data.train_subset and carves
// the validation split out of the training set with a permutation fixed by train.seed.
// With data.normalize: standardize and `need_train`, standardizes by the training split.
absl::StatusOr<JobData> load_job_data(const JobSpec& spec, bool need_train = true);

}  // namespace ty
