#include "storage/csv_reader.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ty {

absl::StatusOr<DatasetPtr> load_csv(const std::string& path, const CsvOptions& o) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::string line;
  if (!std::getline(in, line))
    return absl::InvalidArgumentError(absl::StrCat(path, ": empty file, expected a header row"));
  if (absl::StartsWith(line, "\xEF\xBB\xBF")) line.erase(0, 3);  // a UTF-8 byte order mark
  std::vector<std::string> names;
  for (absl::string_view c : absl::StrSplit(line, ',')) names.emplace_back(absl::StripAsciiWhitespace(c));
  int64_t target = -1;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == o.target) target = i;
  if (target < 0)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no target column '", o.target, "' (data.target); columns: ", absl::StrJoin(names, ", ")));
  const int64_t cols = names.size(), width = cols - 1;
  if (width < 1) return absl::InvalidArgumentError(absl::StrCat(path, ": no feature columns besides the target"));
  std::vector<float> features, targets;
  std::vector<int32_t> labels;
  int64_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    std::vector<absl::string_view> cells = absl::StrSplit(line, ',');
    if (static_cast<int64_t>(cells.size()) != cols)
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", lineno, ": ", cells.size(), " columns, the header has ", cols));
    for (int64_t c = 0; c < cols; ++c) {
      std::string cell(absl::StripAsciiWhitespace(cells[c]));
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (cell.empty() || *end != '\0' || !std::isfinite(v))
        return absl::InvalidArgumentError(
            absl::StrCat(path, ":", lineno, ": column '", names[c], "': '", cell, "' is not a finite number"));
      if (std::fabs(v) > std::numeric_limits<float>::max())
        return absl::InvalidArgumentError(absl::StrCat(path, ":", lineno, ": column '", names[c], "': ", cell,
                                                       " is beyond the range of a 32-bit float (3.4e38)"));
      if (c != target) {
        features.push_back(static_cast<float>(v));
      } else if (o.classification) {
        if (v < 0 || v != std::floor(v) || v > 1e6)
          return absl::InvalidArgumentError(absl::StrCat(path, ":", lineno, ": target '", names[c], "' = ", cell,
                                                         " is not a class label (an integer >= 0)"));
        labels.push_back(static_cast<int32_t>(v));
      } else {
        targets.push_back(static_cast<float>(v));
      }
    }
  }
  if (features.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no data rows"));
  if (!o.classification)
    return std::make_shared<InMemoryDataset>(path, Shape{width}, std::move(features), std::move(targets), 1);
  int64_t classes = o.classes;
  for (int32_t l : labels) {
    if (o.classes > 0 && l >= o.classes)
      return absl::InvalidArgumentError(absl::StrCat(path, ": label ", l, " >= data.num_classes ", o.classes));
    classes = std::max<int64_t>(classes, l + 1);
  }
  return std::make_shared<InMemoryDataset>(path, Shape{width}, std::move(features), std::move(labels), classes);
}

}  // namespace ty
