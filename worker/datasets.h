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
};

// Opens the files named by `spec.data` (IDX or CSV), applies data.train_subset and carves
// the validation split out of the training set with a permutation fixed by train.seed.
absl::StatusOr<JobData> load_job_data(const JobSpec& spec, bool need_train = true);

}  // namespace ty
