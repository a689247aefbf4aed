#include "launch/command_support.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/match.h"
#include "launch/host_env.h"
#include "storage/s3/s3_client.h"
#include "worker/job/exit_codes.h"

namespace ty {

// Parses "SPEC [--set k=v]... [--run-dir DIR] [--weights FILE]"; returns an error message.
std::string parse_args(const std::vector<std::string>& a, bool want_weights, Args& out) {
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string& s = a[i];
    auto value = [&](const std::string& flag, std::string& dst) -> std::string {
      if (absl::StartsWith(s, flag + "=")) {
        dst = s.substr(flag.size() + 1);
        return "";
      }
      if (i + 1 >= a.size()) return flag + " needs a value";
      dst = a[++i];
      return "";
    };
    std::string err;
    if (s == "--help" || s == "-h") {
      out.help = true;
      return "";
    }
    if (s == "--set" || absl::StartsWith(s, "--set=")) {
      std::string v;
      err = value("--set", v);
      out.sets.push_back(v);
    } else if (s == "--run-dir" || absl::StartsWith(s, "--run-dir=")) {
      err = value("--run-dir", out.run_dir);
    } else if (want_weights && (s == "--weights" || absl::StartsWith(s, "--weights="))) {
      err = value("--weights", out.weights);
    } else if (absl::StartsWith(s, "-")) {
      err = "unknown option " + s;
    } else if (out.spec.empty()) {
      out.spec = s;
    } else {
      err = "unexpected argument " + s;
    }
    if (!err.empty()) return err;
  }
  if (out.spec.empty()) return "missing JOB.yaml";
  if (want_weights && out.weights.empty()) return "missing --weights FILE";
  return "";
}

// Prints the error and returns its exit class (worker/job/exit_codes.h).
int fail(const absl::Status& st) {
  std::fprintf(stderr, "trainyard: error: %s\n", std::string(st.message()).c_str());
  return static_cast<int>(exit_code_for(st));
}

// The spec's `env`, set before anything reads the environment (UCX, storage, threads).
void apply_job_env(const JobSpec& spec) {
  for (const auto& [name, value] : spec.env) ::setenv(name.c_str(), value.c_str(), 1);
  if (!spec.storage.s3_endpoint.empty()) set_s3_endpoint(spec.storage.s3_endpoint);
}


absl::StatusOr<std::unique_ptr<Trainer>> open_trained(JobSpec& spec, const std::string& weights) {
  apply_job_env(spec);
  if (spec.runtime.threads == 0) spec.runtime.threads = default_threads();
  set_host_memory_budget(physical_memory_bytes() / static_cast<size_t>(local_ranks_on_host()));
  spec.parallel.pipeline.stages = 1;  // (the whole model here)
  auto trainer = guard_runtime([&] { return Trainer::create(spec, ""); });
  if (!trainer.ok()) return trainer.status();
  if (auto st = guard_runtime([&] { return (*trainer)->load_state(weights); }); !st.ok()) return st;
  return trainer;
}

}  // namespace ty
