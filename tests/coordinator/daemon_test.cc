// The real `trainyard coordinator` daemon on loopback, driven by the real CLI: submit, jobs,
// status, cancel; a SIGKILL and a restart lose nothing; bad input is the user's error.
#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/daemons.h"

namespace ty {
namespace {

using nlohmann::json;

using CoordinatorDaemon = DaemonsTest;

TEST_F(CoordinatorDaemon, SubmittedJobsSurviveASigkillAndARestart) {
  start_coordinator();
  const std::string spec = std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml";
  ShellResult a = cli("submit " + spec + " --ranks 2 --priority 3 --name first");
  ASSERT_EQ(a.code, 0) << a.output;
  ShellResult b = cli("submit " + spec + " --set train.epochs=1");
  ASSERT_EQ(b.code, 0) << b.output;
  ShellResult bad = cli("submit " + spec + " --set train.epochz=1");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("train.epochz"), std::string::npos) << bad.output;
  kill("coordinator");
  start_coordinator();  // same state directory: same token, same jobs
  ShellResult listed = cli("jobs --json");
  ASSERT_EQ(listed.code, 0) << listed.output;
  const json jobs = json::parse(listed.output)["jobs"];
  ASSERT_EQ(jobs.size(), 2u) << listed.output;
  EXPECT_EQ(jobs[1]["name"], "first");
  EXPECT_EQ(jobs[1]["ranks"], 2);
  EXPECT_EQ(jobs[1]["priority"], 3);
  EXPECT_EQ(jobs[0]["name"], "fashion_mnist_mlp");  // the spec's own name
  const std::string first_id = std::to_string(jobs[1]["id"].get<int64_t>());
  ShellResult table = cli("jobs");
  EXPECT_NE(table.output.find(first_id + "        first"), std::string::npos) << table.output;
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
  start_coordinator();
  ShellResult wrong = run_shell("TRAINYARD_COORDINATOR=" + url_ + " TRAINYARD_TOKEN=" + std::string(64, 'a') + " " +
                                    TRAINYARD_BINARY + " jobs",
                                30);
  EXPECT_EQ(wrong.code, 2) << wrong.output;
  EXPECT_NE(wrong.output.find("bearer token"), std::string::npos) << wrong.output;
  kill("coordinator", "TERM");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
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

TEST_F(CoordinatorDaemon, MetricsPassPromtoolAndARealPrometheusScrapesThemWithTheToken) {
  start_coordinator();
  start_worker("w1", 3);
  ASSERT_EQ(cli("submit " + std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml --ranks 9").code, 0);
  const std::string token = path("state/token");
  ShellResult checked = run_shell("curl -sf -H \"Authorization: Bearer $(cat " + token + ")\" " + url_ +
                                      "/metrics | tee " + path("metrics.txt") + " | promtool check metrics",
                                  30);
  EXPECT_EQ(checked.code, 0) << checked.output;
  ShellResult text = run_shell("cat " + path("metrics.txt"), 10);
  EXPECT_NE(text.output.find("trainyard_jobs{state=\"queued\"} 1"), std::string::npos) << text.output;
  EXPECT_EQ(run_shell("curl -s -o /dev/null -w '%{http_code}' " + url_ + "/metrics", 10).output, "401");
  // A real Prometheus, scraping every second with the token from the file.
  const std::string port = std::to_string(30000 + ::getpid() % 2000);
  const std::string host = url_.substr(url_.find("//") + 2);
  std::ofstream(path("prometheus.yml")) << "global: {scrape_interval: 1s}\n"
                                           "scrape_configs:\n"
                                           "  - job_name: trainyard\n"
                                           "    authorization: {credentials_file: " << token << "}\n"
                                           "    static_configs: [{targets: ['" << host << "']}]\n";
  ShellResult prom = run_shell("prometheus --config.file=" + path("prometheus.yml") + " --storage.tsdb.path=" +
                                   path("tsdb") + " --web.listen-address=127.0.0.1:" + port + " > " +
                                   path("prometheus.log") + " 2>&1 & echo $!",
                               10);
  ASSERT_EQ(prom.code, 0) << prom.output;
  pids_["prometheus"] = prom.output.substr(0, prom.output.find('\n'));
  std::string got;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    got = run_shell("curl -s 'http://127.0.0.1:" + port + "/api/v1/query?query=trainyard_worker_slots' || true", 10).output;
    if (got.find("\"w1\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  EXPECT_NE(got.find("\"worker\":\"w1\""), std::string::npos) << got;
  EXPECT_NE(got.find("\"3\"]"), std::string::npos) << got;  // its 3 slots, as scraped
}

TEST_F(CoordinatorDaemon, EveryAcknowledgedSubmissionSurvivesASigkillAmidFourClients) {
  start_coordinator();
  const std::string spec = std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml";
  // 4 clients x 25 submissions; each acknowledged id goes to its client's file.
  std::string clients;
  for (int c = 0; c < 4; ++c)
    clients += "(for i in $(seq 25); do " + env() + TRAINYARD_BINARY + " submit " + spec + " --name c" +
               std::to_string(c) + "-$i 2>/dev/null | tail -1 >> " + path("acked-" + std::to_string(c)) +
               "; done) & ";
  ShellResult started = run_shell(clients + "sleep 1; kill -9 " + pids_["coordinator"] + "; wait", 300);
  ASSERT_EQ(started.code, 0) << started.output;
  start_coordinator();
  ShellResult listed = cli("jobs --json");
  ASSERT_EQ(listed.code, 0) << listed.output;
  std::set<int64_t> stored;
  const nlohmann::json jobs = nlohmann::json::parse(listed.output);
  for (const auto& j : jobs["jobs"])
    EXPECT_TRUE(stored.insert(j["id"].get<int64_t>()).second) << "id " << j["id"] << " twice";
  size_t acked = 0;
  for (int c = 0; c < 4; ++c) {
    std::ifstream in(path("acked-" + std::to_string(c)));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      ++acked;
      EXPECT_TRUE(stored.count(std::stoll(line))) << "acknowledged job " << line << " was lost";
    }
  }
  EXPECT_GT(acked, 0u);
  EXPECT_LE(stored.size(), 100u);
  EXPECT_GE(stored.size(), acked);
}

}  // namespace
}  // namespace ty
