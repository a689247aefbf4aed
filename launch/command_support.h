// What the subcommands share: their common arguments, the exit code of an error, the
// runtime's failures turned into exit classes, and a trainer loaded with a weights file (eval,
// generate, translate, sample, fid).
#pragma once

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "runtime/backend/kernels.h"
#include "worker/job/spec.h"
#include "worker/trainer/trainer.h"

namespace ty {

struct Args {
  std::string spec;
  std::vector<std::string> sets;
  std::string run_dir;
  std::string weights;
  bool help = false;
};

// Parses "SPEC [--set k=v]... [--run-dir DIR] [--weights FILE]"; returns an error message.
std::string parse_args(const std::vector<std::string>& a, bool want_weights, Args& out);

// Runs `f`, turning a failed allocation into exit class 4 and an op this device has no
// kernel for into class 2, each with what to change.
template <typename F>
auto guard_runtime(F f) -> decltype(f()) {
  constexpr char kAdvice[] =
      "lower data.batch_size or the model's size (model.hidden, model.conv channels, model.layers), or use a "
      "machine with more memory";
  try {
    return f();
  } catch (const OutOfMemory& e) {
    return absl::ResourceExhaustedError(absl::StrCat("out of memory: ", e.what(), "; ", kAdvice));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat("out of host memory; ", kAdvice));
  } catch (const KernelMissing& e) {
    return absl::InvalidArgumentError(e.what());
  }
}

// Prints the error and returns its exit class (worker/job/exit_codes.h).
int fail(const absl::Status& st);

// The spec's `env`, set before anything reads the environment (UCX, storage, threads).
void apply_job_env(const JobSpec& spec);

// One process's trainer for `spec` (its whole model, evaluation only: no run directory) with
// the weights of `weights` loaded; threads and the memory budget as `train` sets them.
absl::StatusOr<std::unique_ptr<Trainer>> open_trained(JobSpec& spec, const std::string& weights);

}  // namespace ty
