// Job spec files: YAML, plus `--set key.path=value` overrides, into a checked JobSpec.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/job_spec.h"

namespace ty {

// Reads `path`, applies `overrides` ("key.path=value", the value parsed as YAML) in order,
// and checks every key. Errors name the file or the key and what is allowed.
absl::StatusOr<JobSpec> load_job_spec(const std::string& path, const std::vector<std::string>& overrides);

// The same from YAML text (tests, tools).
absl::StatusOr<JobSpec> parse_job_spec(const std::string& yaml_text, const std::vector<std::string>& overrides,
                                       const std::string& source = "<spec>");

}  // namespace ty
