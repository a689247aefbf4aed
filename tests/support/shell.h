// Running commands from tests: output captured, exit code, bounded by `timeout`.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace ty {

struct ShellResult {
  int code;            // exit status; 124 when `timeout` stopped it
  std::string output;  // stdout and stderr
  double seconds;
};

// Runs `cmd` with bash, killed after `timeout_s` seconds.
inline ShellResult run_shell(const std::string& cmd, int timeout_s) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string quoted = "'";
  for (char c : cmd) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  FILE* p = popen(("timeout " + std::to_string(timeout_s) + " bash -c " + quoted + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
}

// `trainyard data import idx` of Debian's Fashion-MNIST `split` ("train" or "t10k") into
// shards PREFIX-NNNNN.tyshard of about `shard_mb` MiB (TRAINYARD_BINARY: the binary).
// The prefix of a command that mpirun starts on `np` local ranks (as root, more ranks than cores).
inline std::string mpirun(int np) {
  return "mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(np) + " ";
}

inline ShellResult import_fashion_mnist(const std::string& binary, const std::string& split, const std::string& prefix,
                                        int shard_mb) {
  const std::string data = "/usr/share/datasets/fashion-mnist/" + split;
  return run_shell(binary + " data import idx --images " + data + "-images-idx3-ubyte.gz --labels " + data +
                       "-labels-idx1-ubyte.gz --out " + prefix + " --shard-mb " + std::to_string(shard_mb),
                   120);
}

// The losses of the "train" records of a metrics.jsonl, in order.
inline std::vector<double> train_losses(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  std::vector<double> out;
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, std::regex(R"("kind":"train".*"loss":([-0-9.eE+]+))"))) out.push_back(std::stod(m[1]));
  return out;
}

// The loss of each step of a metrics.jsonl's "train" records (a step logged twice — before
// and after a resume — keeps its last record).
inline std::map<int64_t, double> train_losses_by_step(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  std::map<int64_t, double> out;
  std::smatch step, loss;
  for (std::string l; std::getline(in, l);)
    if (l.find("\"kind\":\"train\"") != std::string::npos &&
        std::regex_search(l, step, std::regex(R"("step":([0-9]+))")) &&
        std::regex_search(l, loss, std::regex(R"("loss":([-0-9.eE+]+))")))
      out[std::stoll(step[1])] = std::stod(loss[1]);
  return out;
}

// The test-set accuracy of a metrics.jsonl's "eval" record of split "test", or -1 if none.
inline double test_accuracy(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (l.find("\"split\":\"test\"") != std::string::npos &&
        std::regex_search(l, m, std::regex(R"("accuracy":([-0-9.eE+]+))")))
      return std::stod(m[1]);
  return -1;
}

// step -> loss of the "train" records of a metrics.jsonl, the last record of each step
// winning (a resumed run repeats steps).
inline std::map<int, double> losses_by_step(const std::string& metrics_path) {
  std::ifstream in(metrics_path);
  std::map<int, double> out;
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, std::regex(R"("kind":"train","step":(\d+),"epoch":\d+,"loss":([-0-9.eE+]+))")))
      out[std::stoi(m[1])] = std::stod(m[2]);
  return out;
}

}  // namespace ty
