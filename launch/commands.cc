#include "launch/commands.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "comm/mpi/mpi_communicator.h"
#include "launch/host_env.h"
#include "launch/job_spec_parser.h"
#include "worker/metrics_log.h"
#include "worker/interrupts.h"
#include "worker/trainer.h"

namespace ty {
namespace {

struct Args {
  std::string spec;
  std::vector<std::string> sets;
  std::string run_dir;
  std::string weights;
};

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

std::string default_run_dir(const std::string& name) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return absl::StrCat("runs/", name, "-", stamp);
}

int fail(const absl::Status& st, int code) {
  std::fprintf(stderr, "trainyard: error: %s\n", std::string(st.message()).c_str());
  return code;
}

}  // namespace

int train_command(const std::vector<std::string>& argv) {
  Args a;
  if (std::string err = parse_args(argv, false, a); !err.empty()) {
    std::fprintf(stderr, "trainyard train: %s\nusage: trainyard train JOB.yaml [--set key.path=value ...] [--run-dir DIR]\n", err.c_str());
    return 2;
  }
  const WorldEnv world = world_from_env();
  auto failed = [&](const absl::Status& st, int code) {
    return world.size > 1 ? fail(absl::Status(st.code(), absl::StrCat("rank ", world.rank, " of ", world.size, ": ", st.message())), code)
                          : fail(st, code);
  };
  auto spec = load_job_spec(a.spec, a.sets);
  if (!spec.ok()) return failed(spec.status(), 2);
  if (spec->runtime_threads == 0) spec->runtime_threads = default_threads();
  spec->local_rank = world.local_rank;
  std::unique_ptr<Communicator> comm;
  if (world.size > 1 || spec->comm.backend == "mpi") {
    if (spec->comm.backend == "none")
      return failed(absl::InvalidArgumentError(absl::StrCat("comm.backend: none, but the launcher (", world.launcher,
                                                            ") started ", world.size, " ranks")), 2);
    CommOptions o;
    o.timeout = std::chrono::seconds(spec->comm.timeout_s);
    auto mpi = MpiCommunicator::create(o);
    if (!mpi.ok()) return failed(mpi.status(), 2);
    comm = std::move(*mpi);
  }
  const std::string run_dir = a.run_dir.empty() ? default_run_dir(spec->name) : a.run_dir;
  auto trainer = Trainer::create(*spec, run_dir, comm.get());
  if (!trainer.ok()) return failed(trainer.status(), 2);
  install_interrupt_handlers();
  absl::Status st = (*trainer)->run();
  if (st.code() == absl::StatusCode::kCancelled) {  // SIGTERM: state saved
    std::fprintf(stderr, "trainyard: %s\n", std::string(st.message()).c_str());
    return 128 + 15;
  }
  if (!st.ok()) return failed(st, 1);
  return 0;
}

int eval_command(const std::vector<std::string>& argv) {
  Args a;
  if (std::string err = parse_args(argv, true, a); !err.empty()) {
    std::fprintf(stderr, "trainyard eval: %s\nusage: trainyard eval JOB.yaml --weights FILE [--set key.path=value ...] [--run-dir DIR]\n", err.c_str());
    return 2;
  }
  auto spec = load_job_spec(a.spec, a.sets);
  if (!spec.ok()) return fail(spec.status(), 2);
  if (spec->runtime_threads == 0) spec->runtime_threads = default_threads();
  if (spec->data.test.empty()) return fail(absl::InvalidArgumentError(absl::StrCat(a.spec, ": data.test: required for eval")), 2);
  auto trainer = Trainer::create(*spec, "");
  if (!trainer.ok()) return fail(trainer.status(), 2);
  if (auto st = (*trainer)->load_state(a.weights); !st.ok()) return fail(st, 2);
  auto evaluated = (*trainer)->evaluate(*(*trainer)->data().test);
  if (!evaluated.ok()) return fail(evaluated.status(), 1);
  const MetricsAccumulator& m = *evaluated;
  std::string dir = a.run_dir;
  if (dir.empty()) {
    const size_t slash = a.weights.find_last_of('/');
    dir = slash == std::string::npos ? "." : a.weights.substr(0, slash);
  }
  auto log = MetricsLog::open(dir + "/eval.jsonl");
  if (!log.ok()) return fail(log.status(), 1);
  log->eval("test", 0, m, m.classification());
  std::printf("test: %ld samples, loss %.6f", static_cast<long>(m.count()), m.loss());
  if (m.classification()) {
    std::printf(", accuracy %.4f\nconfusion (rows = true class):\n", m.accuracy());
    for (const auto& row : m.confusion()) {
      for (int64_t v : row) std::printf(" %6ld", static_cast<long>(v));
      std::printf("\n");
    }
  } else {
    std::printf(", mse %.6g\n", m.mse());
  }
  std::printf("metrics: %s/eval.jsonl\n", dir.c_str());
  return 0;
}

}  // namespace ty
