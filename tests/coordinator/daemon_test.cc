// The real `trainyard coordinator` daemon on loopback, driven by the real CLI: submit, jobs,
// status, cancel; a SIGKILL and a restart lose nothing; bad input is the user's error.
#include <chrono>
#include <fstream>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

using nlohmann::json;

class CoordinatorDaemon : public TempDirTest {
 protected:
  void TearDown() override {
    stop();
    TempDirTest::TearDown();
  }
  // Starts the daemon (port 0: any free one) and waits (bounded) for its URL.
  void start() {
    const std::string log = path("coordinator.log");
    std::remove(log.c_str());
    ShellResult r = run_shell(std::string(TRAINYARD_BINARY) + " coordinator --listen 127.0.0.1:0 --state-dir " +
                                  path("state") + " --runs-dir " + path("runs") + " > " + log + " 2>&1 & echo $! > " +
                                  path("coordinator.pid"),
                              10);
    ASSERT_EQ(r.code, 0) << r.output;
    std::smatch m;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::string text;
    while (std::chrono::steady_clock::now() < until) {
      std::ifstream in(log);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (std::regex_search(text, m, std::regex(R"(listening on (http://\S+))"))) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::regex_search(text, m, std::regex(R"(listening on (http://\S+))"))) << text;
    url_ = m[1];
  }
  void stop(const char* signal = "KILL") {
    run_shell(std::string("test -f ") + path("coordinator.pid") + " && kill -" + signal + " $(cat " +
                  path("coordinator.pid") + ") 2>/dev/null; sleep 0.2; true",
              10);
  }
  // A client command against the running daemon.
  ShellResult cli(const std::string& args) const {
    return run_shell("TRAINYARD_COORDINATOR=" + url_ + " TRAINYARD_STATE_DIR=" + path("state") + " " +
                         TRAINYARD_BINARY + " " + args,
                     30);
  }
  std::string url_;
};

TEST_F(CoordinatorDaemon, SubmittedJobsSurviveASigkillAndARestart) {
  start();
  const std::string spec = std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml";
  ShellResult a = cli("submit " + spec + " --ranks 2 --priority 3 --name first");
  ASSERT_EQ(a.code, 0) << a.output;
  ShellResult b = cli("submit " + spec + " --set train.epochs=1");
  ASSERT_EQ(b.code, 0) << b.output;
  ShellResult bad = cli("submit " + spec + " --set train.epochz=1");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("train.epochz"), std::string::npos) << bad.output;
  stop("KILL");
  start();  // same state directory: same token, same jobs
  ShellResult listed = cli("jobs --json");
  ASSERT_EQ(listed.code, 0) << listed.output;
  const json jobs = json::parse(listed.output)["jobs"];
  ASSERT_EQ(jobs.size(), 2u) << listed.output;
  EXPECT_EQ(jobs[1]["name"], "first");
  EXPECT_EQ(jobs[1]["ranks"], 2);
  EXPECT_EQ(jobs[1]["priority"], 3);
  EXPECT_EQ(jobs[0]["name"], "fashion_mnist_mlp");  // the spec's own name
  const std::string first_id = std::to_string(jobs[1]["id"].get<int64_t>());
  EXPECT_EQ(a.output, first_id + "\n");  // submit prints the id as its last line
  ShellResult canceled = cli("cancel " + first_id);
  EXPECT_EQ(canceled.code, 0) << canceled.output;
  ShellResult status = cli("status " + first_id);
  EXPECT_EQ(status.code, 0) << status.output;
  EXPECT_NE(status.output.find("canceled by a user"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find("submitted"), std::string::npos) << status.output;
  EXPECT_EQ(cli("status 424242").code, 2);
  // A new id after the restart, never a reused one.
  ShellResult c = cli("submit " + spec);
  ASSERT_EQ(c.code, 0) << c.output;
  EXPECT_GT(std::stoll(c.output), jobs[0]["id"].get<int64_t>());
}

TEST_F(CoordinatorDaemon, AWrongTokenAndAnUnreachableCoordinatorAreNamed) {
  start();
  ShellResult wrong = run_shell("TRAINYARD_COORDINATOR=" + url_ + " TRAINYARD_TOKEN=" + std::string(64, 'a') + " " +
                                    TRAINYARD_BINARY + " jobs",
                                30);
  EXPECT_EQ(wrong.code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("bearer token"), std::string::npos) << wrong.output;
  stop("TERM");
  ShellResult gone = cli("jobs");
  EXPECT_EQ(gone.code, 3) << gone.output;
  EXPECT_NE(gone.output.find("does not answer"), std::string::npos) << gone.output;
  ShellResult nowhere = run_shell(std::string(TRAINYARD_BINARY) + " jobs", 30);
  EXPECT_EQ(nowhere.code, 2) << nowhere.output;
  EXPECT_NE(nowhere.output.find("TRAINYARD_COORDINATOR"), std::string::npos) << nowhere.output;
}

TEST_F(CoordinatorDaemon, ListeningBeyondLoopbackNeedsTlsOrAnExplicitInsecureFlag) {
  ShellResult r = run_shell(std::string(TRAINYARD_BINARY) + " coordinator --listen 0.0.0.0:0 --state-dir " +
                                path("state") + " --runs-dir " + path("runs"),
                            30);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--insecure-listen"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
