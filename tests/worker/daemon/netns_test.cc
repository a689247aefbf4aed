// The daemons as on a real cluster: the coordinator on its own "host" and each worker on
// another — network namespaces on a bridge, each with its own address — so that workers,
// clients and ranks reach the coordinator (and each other) only over the network. The
// coordinator listens on its bridge address with TLS (a test certificate) or with
// --insecure-listen.
#include "tests/support/daemons.h"
#include "tests/support/jobs.h"
#include "tests/support/netns.h"

namespace ty {
namespace {

class DaemonsAcrossHosts : public DaemonsTest {
 protected:
  // Namespace 0 holds the coordinator and the CLI, 1 and 2 a worker each.
  void SetUp() override {
    DaemonsTest::SetUp();
    hosts_ = std::make_unique<NetNamespaces>(3);
    ASSERT_TRUE(hosts_->ok()) << hosts_->error();
    coordinator_prefix_ = hosts_->exec(0, "");
    coordinator_listen_ = hosts_->address(0) + ":0";
  }
  void TearDown() override {
    DaemonsTest::TearDown();
    hosts_.reset();  // kills what is left in them, removes them and the bridge
  }
  // A self-signed certificate for the coordinator's address; clients and ranks trust it.
  void use_tls() {
    ShellResult r = run_shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=trainyard-test -keyout " +
                                  path("key.pem") + " -out " + path("cert.pem") + " -addext subjectAltName=IP:" +
                                  hosts_->address(0) + " 2>&1",
                              60);
    ASSERT_EQ(r.code, 0) << r.output;
    coordinator_flags_ = " --tls-cert " + path("cert.pem") + " --tls-key " + path("key.pem");
    client_env_ = "TRAINYARD_TLS_CA=" + path("cert.pem") + " ";
  }
  // Ranks on different hosts talk over TCP (as in the UCX tests).
  static std::string job(int steps) { return mlp_job_args(steps) + "--set env.UCX_TLS=tcp,self "; }
  std::unique_ptr<NetNamespaces> hosts_;
};

TEST_F(DaemonsAcrossHosts, TwoWorkersOnTwoHostsTrainOverTlsLikeTwoMpirunRanks) {
  ShellResult mpi = run_shell("mpirun --allow-run-as-root --oversubscribe -np 2 " + std::string(TRAINYARD_BINARY) +
                                  " train " + mlp_job_args(30) + "--run-dir " + path("mpi") + " 2>&1",
                              300);
  ASSERT_EQ(mpi.code, 0) << mpi.output;
  const std::vector<double> want = train_losses(path("mpi/metrics.jsonl"));
  use_tls();
  start_coordinator();
  ASSERT_EQ(url_.rfind("https://" + hosts_->address(0) + ":", 0), 0u) << url_;
  start_worker("w1", 1, hosts_->exec(1, ""));
  start_worker("w2", 1, hosts_->exec(2, ""));
  const std::string id = submit(job(30) + "--ranks 2");
  const nlohmann::json j = wait_for(id, ended, 240);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2) << run_shell("cat " + path("runs/.logs/*/*/*"), 10).output;
  EXPECT_NE(j["history"][1]["cause"].get<std::string>().find("w1 (rank 0), w2 (rank 1)"), std::string::npos);
  const std::vector<double> got = train_losses(path("runs/" + id + "/metrics.jsonl"));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
  // The ranks met through the coordinator's store over TLS, and talked over TCP.
  const std::string log = run_shell("cat " + path("runs/.logs/" + id + "/1/rank-0.log"), 10).output;
  EXPECT_NE(log.find("ucx (tcp)"), std::string::npos) << log;
  // Without the CA the certificate is not trusted, and that is the user's to fix (exit 2).
  client_env_ = "";
  ShellResult untrusted = cli("jobs");
  EXPECT_EQ(untrusted.code, 2) << untrusted.output;
  EXPECT_NE(untrusted.output.find("--tls-ca"), std::string::npos) << untrusted.output;
}

TEST_F(DaemonsAcrossHosts, AKilledWorkerHostIsDetectedAndTheRestartedJobMatchesAnUninterruptedRun) {
  coordinator_flags_ = " --insecure-listen";
  start_coordinator();
  start_worker("w1", 1, hosts_->exec(1, ""));
  start_worker("w2", 1, hosts_->exec(2, ""));
  const std::string spec = job(150) + "--ranks 2 --set checkpoint.every_steps=20 ";
  const std::string clean = submit(spec);
  ASSERT_EQ(wait_for(clean, ended, 240).value("state", ""), "succeeded");
  const std::map<int64_t, double> want = train_losses_by_step(path("runs/" + clean + "/metrics.jsonl"));
  ASSERT_EQ(want.size(), 150u);

  const std::string id = submit(spec);
  ASSERT_GE(wait_for_steps(id, 45, 120), 45u);
  kill("w2");
  const auto killed = std::chrono::steady_clock::now();
  const nlohmann::json lost = wait_for(id, [](const std::string& s) { return s != "running"; }, 30);
  const double detect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_LT(detect_s, 6.5) << "the worker timeout is 5 s";
  // Either the worker timeout names it, or its peer's rank failed first and the silence of
  // w2 decided (3 s later) that the loss was the worker's.
  const std::string cause = lost["history"].back()["cause"];
  EXPECT_TRUE(cause.find("worker w2 lost") == 0 || cause.find("worker w2 went silent") == 0) << cause;
  ShellResult orphans = run_shell("pgrep -f -- '[t]rainyard train " + path("work-w2") + "' || true", 10);
  EXPECT_EQ(orphans.output, "") << "ranks of the killed worker still run";
  start_worker("w2", 1, hosts_->exec(2, ""));  // the host comes back
  const nlohmann::json j = wait_for(id, ended, 300);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_EQ(j["attempt"], 2);
  EXPECT_EQ(j["restarts"], 0) << "a worker loss counted as a restart";
  const std::map<int64_t, double> got = train_losses_by_step(path("runs/" + id + "/metrics.jsonl"));
  ASSERT_EQ(got.size(), 150u) << "each step to train.max_steps";
  for (const auto& [step, loss] : want) EXPECT_EQ(got.at(step), loss) << "step " << step;
}

}  // namespace
}  // namespace ty
