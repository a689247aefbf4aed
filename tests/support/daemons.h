// A coordinator and worker daemons for one test: real `trainyard coordinator` and
// `trainyard worker` processes, every one killed when the fixture goes (passed or failed),
// with the CLI pointed at them. On loopback by default; a test may put the coordinator (and
// the CLI) and each worker behind a command prefix — `ip netns exec NS` — with the
// coordinator listening elsewhere (`coordinator_listen_`, `coordinator_flags_`).
#pragma once

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {

class DaemonsTest : public TempDirTest {
 protected:
  void TearDown() override {
    for (const auto& [name, pid] : pids_) run_shell("kill -9 " + pid + " 2>/dev/null; true", 10);
    // Ranks die with their worker (PR_SET_PDEATHSIG); anything left of this test goes too.
    run_shell("pkill -9 -f -- '" + path("") + "' 2>/dev/null; true", 10);
    TempDirTest::TearDown();
  }
  // Starts the coordinator and waits (bounded) for its URL: on any free port the first
  // time, on the same one after (workers and clients find it again).
  void start_coordinator() {
    const std::string log = path("coordinator.log");
    std::remove(log.c_str());
    const std::string listen = url_.empty() ? coordinator_listen_ : url_.substr(url_.find("//") + 2);
    start("coordinator",
          coordinator_prefix_ + TRAINYARD_BINARY + " coordinator --listen " + listen + " --state-dir " + path("state") +
              " --runs-dir " + path("runs") + coordinator_flags_,
          log);
    std::smatch m;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string text;
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream in(log);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (std::regex_search(text, m, std::regex(R"(listening on (https?://\S+))"))) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(listening on (https?://\S+))"))) << text;
    if (url_ != m[1].str()) url_ = m[1];  // (a restart keeps it: threads of the test may read it)
  }
  // A worker; `prefix` runs it elsewhere (`ip netns exec NS `).
  void start_worker(const std::string& name, int slots, const std::string& prefix = "") {
    start(name,
          prefix + env() + TRAINYARD_BINARY + " worker --slots " + std::to_string(slots) + " --work-dir " +
              path("work-" + name) + " --name " + name,
          path(name + ".log"));
  }
  void kill(const std::string& name, const std::string& signal = "KILL") {
    run_shell("kill -" + signal + " " + pids_[name] + " 2>/dev/null; true", 10);
  }
  // A client command against the coordinator.
  ShellResult cli(const std::string& args) const {
    return run_shell(coordinator_prefix_ + env() + TRAINYARD_BINARY + " " + args, 60);
  }
  // The job's state as the API shows it, polled until `done(state)` or `timeout_s` (bounded).
  nlohmann::json wait_for(const std::string& job, const std::function<bool(const std::string&)>& done, int timeout_s) {
    nlohmann::json j;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < until) {
      ShellResult r = cli("status " + job + " --json");
      if (r.code == 0) {
        j = nlohmann::json::parse(r.output, nullptr, false);
        if (j.is_object() && done(j["state"].get<std::string>())) return j;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return j;
  }
  // Polls (bounded) until `n` workers have registered; whether they have.
  bool wait_for_workers(size_t n, int timeout_s) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < until) {
      ShellResult r = cli("workers --json");
      if (r.code == 0) {
        const nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
        if (j.is_object() && j["workers"].is_array() && j["workers"].size() >= n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // Submits; the job id (submit's last line).
  std::string submit(const std::string& args) {
    ShellResult r = cli("submit " + args);
    EXPECT_EQ(r.code, 0) << r.output;
    std::string id = r.output;
    while (!id.empty() && id.back() == '\n') id.pop_back();
    return id.substr(id.rfind('\n') == std::string::npos ? 0 : id.rfind('\n') + 1);
  }
  static bool ended(const std::string& s) { return s == "succeeded" || s == "failed" || s == "canceled"; }
  // Waits (bounded) until job `id`'s rank 0 has logged `steps` losses; how many it has.
  size_t wait_for_steps(const std::string& id, size_t steps, int timeout_s) {
    const std::string metrics = path("runs/" + id + "/metrics.jsonl");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (train_losses(metrics).size() < steps && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return train_losses(metrics).size();
  }
  // The clients' environment (`env` runs after a prefix like `ip netns exec NS`).
  std::string env() const {
    return "env TRAINYARD_COORDINATOR=" + url_ + " TRAINYARD_STATE_DIR=" + path("state") + " " + client_env_;
  }
  std::string url_;
  std::string coordinator_listen_ = "127.0.0.1:0";
  std::string coordinator_prefix_, coordinator_flags_;  // e.g. "ip netns exec NS ", " --insecure-listen"
  std::string client_env_;                              // more of the clients' environment: "K=V "
  std::map<std::string, std::string> pids_;

 private:
  void start(const std::string& name, const std::string& cmd, const std::string& log) {
    ShellResult r = run_shell(cmd + " > " + log + " 2>&1 & echo $!", 10);
    ASSERT_EQ(r.code, 0) << r.output;
    pids_[name] = r.output.substr(0, r.output.find('\n'));
  }
};

}  // namespace ty
