// CSV files: a header row of column names, then numeric rows. One named column is the
// target: integer class labels (classification) or a value (regression); every other
// column is a feature.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "storage/dataset.h"

namespace ty {

struct CsvOptions {
  std::string target = "label";
  bool classification = true;
  int64_t classes = 0;  // 0: max label + 1
};

// Errors name the file, the line and the column.
absl::StatusOr<DatasetPtr> load_csv(const std::string& path, const CsvOptions& options);

}  // namespace ty
