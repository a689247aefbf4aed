// A fault-injecting proxy (tests/support/s3_fault_proxy.py) in front of the test S3 store,
// for as long as the object lives: 503s, connection resets, truncated bodies, flipped bits
// and slow answers on every K-th ranged GET, bounded in count and time.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/s3_store.h"

namespace ty {

class S3FaultProxy {
 public:
  // `faults`: "503:3,reset:3,truncate:3,flip:4,slow:1"; every `every`-th matching request
  // (`match`: GET-range, GET, PUT or any; `path_contains`: only paths holding it).
  S3FaultProxy(const std::string& dir, const std::string& faults, int every, const std::string& match = "GET-range",
               const std::string& path_contains = "")
      : port_file_(dir + "/proxy.port"), stats_file_(dir + "/proxy.json") {
    const std::string upstream = s3_test_endpoint().substr(std::string("http://").size());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execlp("python3", "python3", TRAINYARD_SOURCE_DIR "/tests/support/s3_fault_proxy.py", "--upstream",
               upstream.c_str(), "--port-file", port_file_.c_str(), "--stats-file", stats_file_.c_str(), "--faults",
               faults.c_str(), "--every", std::to_string(every).c_str(), "--match", match.c_str(), "--path-contains",
               path_contains.c_str(), "--max-seconds", "600", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && port_.empty(); ++i) {  // at most 10 s
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream in(port_file_);
      std::getline(in, port_);
    }
  }
  ~S3FaultProxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // "" when the proxy did not start.
  std::string endpoint() const { return port_.empty() ? "" : "http://127.0.0.1:" + port_; }
  // Faults injected so far by kind ("503", "reset", ...) and "requests" seen.
  std::map<std::string, int> stats() const {
    std::ifstream in(stats_file_);
    std::stringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    std::map<std::string, int> out;
    std::regex kv(R"re("([a-z0-9]+)": ([0-9]+))re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kv); it != std::sregex_iterator(); ++it)
      out[(*it)[1]] = std::stoi((*it)[2]);
    return out;
  }

 private:
  std::string port_file_, stats_file_, port_;
  pid_t pid_ = -1;
};

}  // namespace ty
