#include "launch/commands.h"

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <new>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "comm/mpi/mpi_communicator.h"
#include "launch/command_support.h"
#include "launch/host_env.h"
#include "launch/world_comm.h"
#include "runtime/backend/kernels.h"
#include "runtime/status.h"
#include "storage/object_path.h"
#include "storage/s3/s3_url.h"
#include "worker/job/exit_codes.h"
#include "worker/job/parser.h"
#include "worker/trainer/interrupts.h"
#include "worker/trainer/metrics_log.h"
#include "worker/trainer/run_arrivals.h"
#include "worker/trainer/run_directory.h"
#include "worker/trainer/trainer.h"

namespace ty {
namespace {

// The default run directory, the same on every rank: rank 0's clock and random bits, sent to
// the others by a max-reduction (every other rank contributes zeros).
absl::StatusOr<std::string> shared_default_run_dir(const std::string& name, Communicator* comm) {
  Tensor v = Tensor::empty(host_memory(), {2}, DType::kF64);
  const bool leader = comm == nullptr || comm->rank() == 0;
  v.set(0, leader ? static_cast<double>(std::time(nullptr)) : 0.0);
  v.set(1, leader ? static_cast<double>(std::random_device{}() & 0xFFFFFFu) : 0.0);
  if (comm) TY_RETURN_IF_ERROR(comm->allreduce_now(v, ReduceOp::kMax));
  return default_run_dir(name, static_cast<std::time_t>(v.at(0)), static_cast<uint32_t>(v.at(1)));
}

// The largest exit class of `mine` over the ranks (itself with one rank).
absl::StatusOr<int> agree_on_exit_class(Communicator* comm, const absl::Status& mine) {
  const int code = static_cast<int>(exit_code_for(mine));
  if (comm == nullptr) return code;
  Tensor v = Tensor::empty(host_memory(), {1}, DType::kF64);
  v.set(0, code);
  TY_RETURN_IF_ERROR(comm->allreduce_now(v, ReduceOp::kMax));
  return static_cast<int>(v.at(0));
}

constexpr char kTrainUsage[] = "usage: trainyard train JOB.yaml [--set key.path=value ...] [--run-dir DIR]\n";
constexpr char kEvalUsage[] =
    "usage: trainyard eval JOB.yaml --weights FILE [--set key.path=value ...] [--run-dir DIR]\n";
constexpr char kGenerateUsage[] =
    "usage: trainyard generate JOB.yaml --weights FILE --prompt TEXT [--tokens N] [--temperature T] [--top-k K]\n"
    "                          [--seed S] [--set key.path=value ...]\n"
    "  prints the prompt and its continuation (only that) on stdout; the defaults are the job's sample.* keys\n";

constexpr char kTranslateUsage[] =
    "usage: trainyard translate JOB.yaml --weights FILE [--input FILE] [--beam N] [--set key.path=value ...]\n"
    "  translates each line of FILE (default: standard input) with the job's seq2seq model and prints one\n"
    "  translation per line on stdout (an empty line stays empty); --beam 1 decodes greedily (default: eval.beam_size)\n";

}  // namespace

int train_command(const std::vector<std::string>& argv) {
  Args a;
  if (std::string err = parse_args(argv, false, a); !err.empty() || a.help) {
    std::fprintf(a.help ? stdout : stderr, "%s%s", a.help ? "" : ("trainyard train: " + err + "\n").c_str(),
                 kTrainUsage);
    return a.help ? 0 : 2;
  }
  const absl::StatusOr<WorldEnv> found = world_from_env();
  if (!found.ok()) return fail(found.status());
  const WorldEnv& world = *found;
  auto failed = [&](const absl::Status& st) {
    return world.size > 1 ? fail(absl::Status(
                                st.code(), absl::StrCat("rank ", world.rank, " of ", world.size, ": ", st.message())))
                          : fail(st);
  };
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kTrain);
  if (!spec.ok()) return failed(spec.status());
  apply_job_env(*spec);
  if (spec->runtime.threads == 0) spec->runtime.threads = default_threads();
  set_host_memory_budget(physical_memory_bytes() / static_cast<size_t>(local_ranks_on_host()));
  spec->local_rank = world.local_rank;
  // Before any thread starts (UCX's, the store's, the op queues'), so that all inherit it.
  if (world.launcher == "rendezvous" && world.local_size > 1 && spec->runtime.bind_cores)
    bind_to_local_share(world.local_rank, world.local_size);
  absl::StatusOr<WorldComm> world_comm = open_world_comm(world, *spec);
  if (!world_comm.ok()) return failed(world_comm.status());
  std::unique_ptr<Communicator>& comm = world_comm->comm;
  std::string run_dir = a.run_dir;
  if (run_dir.empty()) {
    auto named = shared_default_run_dir(spec->name, comm.get());
    if (!named.ok()) return failed(named.status());
    run_dir = *named;
  }
  if (is_s3_url(run_dir) && spec->model.kind == ModelKind::kGan)
    return failed(absl::InvalidArgumentError(absl::StrCat(
        "--run-dir ", run_dir, ": a GAN writes its sample grids and FID classifier as local files; give a local "
        "--run-dir (checkpoint.dir may be s3://)")));
  if (world.launcher == "rendezvous" && world_comm->store && world.size > 1)  // (mpirun: one command line)
    if (absl::Status st =
            check_one_run_dir(*world_comm->store, world.rank, world.size, run_dir,
                              rendezvous::Store::Clock::now() + std::chrono::seconds(spec->comm.timeout_s));
        !st.ok())
      return failed(st);
  std::unique_ptr<RunDirectory> locked;  // rank 0 holds the lock until the process exits
  absl::Status lock_status;
  std::unique_ptr<ObjectRunLock> checkpoints_locked;  // an s3:// checkpoint.dir of its own, likewise
  if (world.rank == 0) {
    auto opened = RunDirectory::open_and_lock(run_dir);
    if (opened.ok())
      locked = std::move(*opened);
    else
      lock_status = opened.status();
    const std::string& ckpt = spec->checkpoint.dir;
    if (lock_status.ok() && is_s3_url(ckpt) && ckpt.rfind(run_dir + "/", 0) != 0) {
      auto taken = ObjectRunLock::acquire(ckpt, 0, /*checkpoints_only=*/true);
      if (taken.ok())
        checkpoints_locked = std::move(*taken);
      else
        lock_status = absl::Status(taken.status().code(), absl::StrCat("checkpoint.dir: ", taken.status().message()));
    }
  }
  // Every rank learns whether rank 0 got the directory, so that none goes on alone.
  absl::StatusOr<int> lock_class = agree_on_exit_class(comm.get(), lock_status);
  if (!lock_class.ok()) return failed(lock_class.status());
  if (*lock_class != 0) {
    if (!lock_status.ok()) return failed(lock_status);
    std::fprintf(stderr, "trainyard: error: rank %d of %d: rank 0 could not take the run directory %s\n", world.rank,
                 world.size, run_dir.c_str());
    return *lock_class;
  }
  auto trainer = guard_runtime([&] { return Trainer::create(*spec, run_dir, comm.get()); });
  if (!trainer.ok()) {
    if (locked) locked->discard_if_unused();
    return failed(trainer.status());
  }
  if (comm && comm->size() > 1)  // a collective that times out names the ranks that never reached it
    if (absl::Status st = share_arrivals(*comm, run_dir, std::chrono::seconds(spec->comm.timeout_s)); !st.ok()) {
      if (locked) locked->discard_if_unused();
      return failed(st);
    }
  arm_interrupts();
  absl::Status st = guard_runtime([&] { return (*trainer)->run(); });
  disarm_interrupts();                              // what is left (writing, MPI shutdown) ends on a signal as usual
  if (st.code() == absl::StatusCode::kCancelled) {  // SIGTERM or Ctrl-C: state saved
    std::fprintf(stderr, "trainyard: %s\n", std::string(st.message()).c_str());
    return 128 + (stop_signal() == SIGINT ? SIGINT : SIGTERM);
  }
  if (!st.ok()) {
    if (locked) locked->discard_if_unused();  // a start that failed before writing anything
    return failed(st);
  }
  return 0;
}

int generate_command(const std::vector<std::string>& argv) {
  // --tokens, --temperature, --top-k and --seed set their spec keys (checked as the spec's
  // are); the prompt is taken as it is.
  std::vector<std::string> rest;
  std::string prompt;
  bool have_prompt = false;
  const std::pair<const char*, const char*> keyed[] = {{"--tokens", "sample.tokens"},
                                                       {"--temperature", "sample.temperature"},
                                                       {"--top-k", "sample.top_k"},
                                                       {"--seed", "train.seed"}};
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string flag = argv[i], value;
    const size_t eq = flag.find('=');
    const bool inline_value = absl::StartsWith(flag, "--") && eq != std::string::npos;
    if (inline_value) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    }
    const char* key = flag == "--prompt" ? "" : nullptr;
    for (const auto& [f, k] : keyed)
      if (flag == f) key = k;
    if (key == nullptr) {
      rest.push_back(argv[i]);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argv.size()) {
        std::fprintf(stderr, "trainyard generate: %s needs a value\n%s", flag.c_str(), kGenerateUsage);
        return 2;
      }
      value = argv[++i];
    }
    if (*key == '\0') {
      prompt = value;
      have_prompt = true;
    } else {
      rest.push_back("--set");
      rest.push_back(absl::StrCat(key, "=", value));
    }
  }
  Args a;
  if (std::string err = parse_args(rest, true, a); !err.empty() || a.help || !have_prompt) {
    if (err.empty() && !a.help) err = "missing --prompt TEXT";
    std::fprintf(a.help ? stdout : stderr, "%s%s", a.help ? "" : ("trainyard generate: " + err + "\n").c_str(),
                 kGenerateUsage);
    return a.help ? 0 : 2;
  }
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kTrain);
  if (!spec.ok()) return fail(spec.status());
  auto trainer = open_trained(*spec, a.weights);
  if (!trainer.ok()) return fail(trainer.status());
  const SampleOptions o{prompt, spec->sample.tokens > 0 ? spec->sample.tokens : 200, spec->sample.temperature,
                        spec->sample.top_k, spec->train.seed};
  std::fprintf(stderr,
               "trainyard generate: %ld tokens after a prompt of %zu bytes (temperature %g, top-k %ld, seed %lu)\n",
               static_cast<long>(o.tokens), prompt.size(), o.temperature, static_cast<long>(o.top_k),
               static_cast<unsigned long>(o.seed));
  auto text = guard_runtime([&] { return (*trainer)->generate(o); });
  if (!text.ok()) return fail(text.status());
  std::fwrite(text->data(), 1, text->size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

int translate_command(const std::vector<std::string>& argv) {
  std::vector<std::string> rest;
  std::string input;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& flag = argv[i];
    if ((flag == "--input" || flag == "--beam") && i + 1 >= argv.size()) {
      std::fprintf(stderr, "trainyard translate: %s needs a value\n%s", flag.c_str(), kTranslateUsage);
      return 2;
    }
    if (flag == "--input") {
      input = argv[++i];
    } else if (flag == "--beam") {
      rest.push_back("--set");
      rest.push_back("eval.beam_size=" + argv[++i]);
    } else {
      rest.push_back(flag);
    }
  }
  Args a;
  if (std::string err = parse_args(rest, true, a); !err.empty() || a.help) {
    std::fprintf(a.help ? stdout : stderr, "%s%s", a.help ? "" : ("trainyard translate: " + err + "\n").c_str(),
                 kTranslateUsage);
    return a.help ? 0 : 2;
  }
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kTrain);
  if (!spec.ok()) return fail(spec.status());
  if (spec->model.kind != ModelKind::kSeq2seq)
    return fail(absl::InvalidArgumentError(absl::StrCat("translate: ", a.spec, " has model.kind ",
                                                        name_of(spec->model.kind), "; translate needs seq2seq")));
  std::vector<std::string> lines;
  {
    std::ifstream file;
    if (!input.empty()) {
      file.open(input, std::ios::binary);
      if (!file) return fail(absl::NotFoundError(absl::StrCat("--input ", input, ": cannot open")));
    }
    std::istream& in = input.empty() ? std::cin : file;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
    }
  }
  auto trainer = open_trained(*spec, a.weights);
  if (!trainer.ok()) return fail(trainer.status());
  std::fprintf(stderr, "trainyard translate: %zu lines, beam %ld\n", lines.size(),
               static_cast<long>(spec->eval.beam_size));
  const auto t0 = std::chrono::steady_clock::now();
  auto out = guard_runtime([&] { return (*trainer)->translate(lines); });
  if (!out.ok()) return fail(out.status());
  for (const std::string& line : *out) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  std::fprintf(stderr, "trainyard translate: %zu lines in %.1f s\n", lines.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

int eval_command(const std::vector<std::string>& argv) {
  Args a;
  if (std::string err = parse_args(argv, true, a); !err.empty() || a.help) {
    std::fprintf(a.help ? stdout : stderr, "%s%s", a.help ? "" : ("trainyard eval: " + err + "\n").c_str(), kEvalUsage);
    return a.help ? 0 : 2;
  }
  auto spec = load_job_spec(a.spec, a.sets, SpecUse::kEval);
  if (!spec.ok()) return fail(spec.status());
  if (spec->model.kind == ModelKind::kGan)
    return fail(absl::InvalidArgumentError(
        absl::StrCat("eval: ", a.spec, " is a GAN, which has no test loss; score it with `trainyard fid`")));
  auto trainer = open_trained(*spec, a.weights);
  if (!trainer.ok()) return fail(trainer.status());
  auto evaluated = guard_runtime([&] { return (*trainer)->evaluate(*(*trainer)->data().test); });
  if (!evaluated.ok()) return fail(evaluated.status());
  const MetricsAccumulator& m = *evaluated;
  std::string dir = a.run_dir;
  if (dir.empty()) {
    const size_t slash = a.weights.find_last_of('/');
    dir = slash == std::string::npos ? "." : a.weights.substr(0, slash);
  }
  // The results first, so that a directory that cannot be written loses nothing.
  std::printf("test: %ld %s, loss %.6f", static_cast<long>(m.count()), m.tokens() ? "tokens" : "samples", m.loss());
  if (m.tokens()) {
    std::printf(", perplexity %.4f, accuracy %.4f\n", m.perplexity(), m.accuracy());
  } else if (m.classification()) {
    std::printf(", accuracy %.4f\n%s", m.accuracy(), m.has_confusion() ? "confusion (rows = true class):\n" : "");
    for (const auto& row : m.confusion()) {
      for (int64_t v : row) std::printf(" %6ld", static_cast<long>(v));
      std::printf("\n");
    }
  } else {
    std::printf(", mse %.6g\n", m.mse());
  }
  std::fflush(stdout);
  if (!is_s3_url(dir)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return fail(
          absl::InvalidArgumentError(absl::StrCat("--run-dir ", dir, ": cannot create it (", ec.message(), ")")));
  }
  auto log = MetricsLog::open(join_path(dir, "eval.jsonl"));
  if (!log.ok()) return fail(log.status());
  log->eval("test", 0, m, m.classification());
  if (absl::Status st = log->sync(); !st.ok()) return fail(st);
  std::printf("metrics: %s\n", join_path(dir, "eval.jsonl").c_str());
  return 0;
}

}  // namespace ty
