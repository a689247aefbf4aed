// trainyard: the single entry point for every role.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "glog/logging.h"
#include "launch/commands.h"

namespace {

constexpr char kUsage[] =
    "trainyard: trains deep-learning models on your own servers\n"
    "\n"
    "usage:\n"
    "  trainyard train JOB.yaml [--set key.path=value ...] [--run-dir DIR]\n"
    "  trainyard eval  JOB.yaml --weights FILE [--set key.path=value ...] [--run-dir DIR]\n"
    "  trainyard data import idx --images FILE --labels FILE --out PREFIX [--shard-mb N]\n"
    "  trainyard data import csv --file FILE --out PREFIX [--target COLUMN] [--task classification|regression]\n"
    "  trainyard data import text --file FILE --out PREFIX [--tokens bytes|words] [--seq-len N]\n"
    "  trainyard data inspect PATH_OR_GLOB...\n"
    "  trainyard help\n"
    "\n"
    "See README.md for the job spec reference.\n";

}  // namespace

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "train") return ty::train_command(args);
  if (cmd == "eval") return ty::eval_command(args);
  if (cmd == "data") return ty::data_command(args);
  std::fprintf(stderr, "trainyard: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
