// trainyard: the single entry point for every role.
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "launch/commands.h"
#include "worker/job/exit_codes.h"
#include "worker/job/keys.h"
#include "worker/trainer/interrupts.h"

namespace {

constexpr char kUsage[] =
    "trainyard: trains deep-learning models on your own servers\n"
    "\n"
    "usage:\n"
    "  trainyard train JOB.yaml [--set key.path=value ...] [--run-dir DIR]\n"
    "  trainyard eval  JOB.yaml --weights FILE [--set key.path=value ...] [--run-dir DIR]\n"
    "  trainyard generate JOB.yaml --weights FILE --prompt TEXT [--tokens N] [--temperature T] [--top-k K] [--seed S]\n"
    "  trainyard translate JOB.yaml --weights FILE [--input FILE] [--beam N]\n"
    "  trainyard sample JOB.yaml --weights FILE --out GRID.png [--n 64] [--seed S]\n"
    "  trainyard fid JOB.yaml --weights FILE [--classifier WEIGHTS] [--samples FILE]\n"
    "  trainyard data import idx --images FILE --labels FILE --out PREFIX [--shard-mb N]\n"
    "  trainyard data import csv --file FILE --out PREFIX [--target COLUMN] [--task classification|regression]\n"
    "  trainyard data import text --file FILE --out PREFIX [--tokens bytes|words] [--seq-len N]\n"
    "  trainyard data inspect PATH_OR_GLOB...\n"
    "  trainyard bleu HYP_FILE REF_FILE [REF_FILE ...] [--chrf] [--json]   BLEU as sacreBLEU computes it\n"
    "  trainyard coordinator [--listen HOST:PORT] --state-dir DIR --runs-dir DIR [--tls-cert F --tls-key F]\n"
    "                        [--insecure-listen]\n"
    "  trainyard worker --coordinator URL [--slots N] --work-dir DIR [--name NAME]\n"
    "  trainyard submit JOB.yaml [--set k=v ...] [--ranks N] [--priority P] [--name NAME]\n"
    "  trainyard jobs [--json] | status JOB [--json] | cancel JOB | wait JOB | workers [--json]\n"
    "  trainyard logs JOB [--rank R] [--attempt A] [--follow]\n"
    "      (these find the coordinator in --coordinator URL or TRAINYARD_COORDINATOR, its token in\n"
    "       --token-file F, TRAINYARD_TOKEN or TRAINYARD_STATE_DIR/token)\n"
    "  trainyard help [spec]      this text, or every job spec key (Markdown)\n"
    "  trainyard --version\n"
    "\n"
    "Exit codes: 0 success, 1 failed, 2 usage/spec/data error, 3 retryable infrastructure\n"
    "failure, 4 out of memory, 5 canceled; 130/143 stopped by SIGINT/SIGTERM after a checkpoint.\n"
    "See README.md for the job spec reference.\n";

// Exit class 4 (worker/job/exit_codes.h), with what to change.
int out_of_memory(const char* what) {
  std::fprintf(stderr,
               "trainyard: error: out of host memory (%s); lower data.batch_size or the model's size "
               "(model.hidden, model.conv channels, model.layers), or use a machine with more memory\n",
               what);
  return static_cast<int>(ty::ExitCode::kOutOfMemory);
}

}  // namespace

int main(int argc, char** argv) {
  ty::start_interrupt_watcher();  // before any other thread exists
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  const std::string cmd = argc < 2 ? "" : argv[1];
  if (cmd == "--version" || cmd == "version") {
    std::printf("trainyard %s\n", TRAINYARD_VERSION);
    return 0;
  }
  if (argc == 3 && cmd == "help" && !std::strcmp(argv[2], "spec")) {
    std::fputs(ty::spec_reference_markdown().c_str(), stdout);
    return 0;
  }
  if (argc < 2 || cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (cmd == "train") return ty::train_command(args);
    if (cmd == "eval") return ty::eval_command(args);
    if (cmd == "generate") return ty::generate_command(args);
    if (cmd == "data") return ty::data_command(args);
    if (cmd == "bleu") return ty::bleu_command(args);
    if (cmd == "translate") return ty::translate_command(args);
    if (cmd == "sample") return ty::sample_command(args);
    if (cmd == "fid") return ty::fid_command(args);
    if (cmd == "coordinator") return ty::coordinator_command(args);
    if (cmd == "worker") return ty::worker_command(args);
    if (cmd == "submit") return ty::submit_command(args);
    if (cmd == "jobs") return ty::jobs_command(args);
    if (cmd == "wait") return ty::wait_command(args);
    if (cmd == "logs") return ty::logs_command(args);
    if (cmd == "workers") return ty::workers_command(args);
    if (cmd == "status" || cmd == "cancel") return ty::job_command(cmd, args);
  } catch (const std::bad_alloc&) {
    return out_of_memory("an allocation failed");
  } catch (const std::length_error& e) {
    return out_of_memory(e.what());
  }
  std::fprintf(stderr, "trainyard: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
