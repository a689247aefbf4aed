// Job spec files: YAML, plus `--set key.path=value` overrides, into a checked JobSpec.
// Every key goes through the key table (worker/job/keys.h); errors name the file and the
// key and say what is allowed.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/job/spec.h"

namespace ty {

// What the spec is for: training needs data.train; evaluation needs data.test.
enum class SpecUse { kTrain, kEval };

// Reads `path` (at most 1 MiB), applies `overrides` ("key.path=value", the value parsed as
// YAML) in order, and checks every key. Without a `name:` the run is named after the file.
absl::StatusOr<JobSpec> load_job_spec(const std::string& path, const std::vector<std::string>& overrides,
                                      SpecUse use = SpecUse::kTrain);

// The YAML of `text` with `overrides` applied, `env` values included (the coordinator sends
// this to its workers, so that no value travels on a rank's command line).
absl::StatusOr<std::string> resolved_spec_text(const std::string& text, const std::vector<std::string>& overrides,
                                               const std::string& source);

// The same from YAML text (tests, the coordinator).
absl::StatusOr<JobSpec> parse_job_spec(const std::string& yaml_text, const std::vector<std::string>& overrides,
                                       const std::string& source = "<spec>", SpecUse use = SpecUse::kTrain);

// Whether `name` may name a run directory: [A-Za-z0-9][A-Za-z0-9._-]{0,127}.
bool valid_run_name(const std::string& name);

// The format of the data at `path` under data.format (auto: by its name); `key` names the
// path in errors (a compressed CSV is refused).
absl::StatusOr<DataFormat> resolve_data_format(const DataSpec& data, const std::string& key, const std::string& path);

}  // namespace ty
