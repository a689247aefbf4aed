// The job keys the daemons act on, with real daemons and ranks on loopback: `env` reaches
// the ranks and is shown nowhere, a higher-priority job preempts a running one (which
// checkpoints, requeues uncounted and finishes exactly), and a job past
// resources.max_runtime_minutes is stopped with a checkpoint and fails.
#include <sys/stat.h>

#include <fstream>

#include "tests/support/daemons.h"
#include "tests/support/jobs.h"

namespace ty {
namespace {

using DaemonJobKeys = DaemonsTest;

// The pids of the ranks running from `work_dir`.
std::vector<std::string> rank_pids(const std::string& work_dir) {
  ShellResult r = run_shell("pgrep -f -- '[t]rainyard train " + work_dir + "' || true", 10);
  std::vector<std::string> out;
  for (size_t at = 0, nl; (nl = r.output.find('\n', at)) != std::string::npos; at = nl + 1)
    out.push_back(r.output.substr(at, nl - at));
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(DaemonJobKeys, EnvReachesTheRanksAndIsShownNowhere) {
  const std::string secret = "s3cr3t-" + std::to_string(::getpid()) + "-value";
  start_coordinator();
  start_worker("w1", 2);
  const std::string id = submit(mlp_job_args(100000) + "--set train.epochs=1000 --ranks 2 --set env.TY_TEST_SECRET=" + secret);
  ASSERT_EQ(wait_for(id, [](const std::string& s) { return s == "running"; }, 60).value("state", ""), "running");
  ASSERT_GE(wait_for_steps(id, 3, 60), 3u);
  const std::vector<std::string> pids = rank_pids(path("work-w1"));
  ASSERT_EQ(pids.size(), 2u);
  for (const std::string& pid : pids) {
    std::string environ = read_all("/proc/" + pid + "/environ");
    std::replace(environ.begin(), environ.end(), '\0', '\n');
    EXPECT_NE(environ.find("\nTY_TEST_SECRET=" + secret + "\n"), std::string::npos) << "rank " << pid;
    EXPECT_EQ(environ.find("TRAINYARD_TOKEN"), std::string::npos);  // only the attempt's token
    EXPECT_NE(environ.find("TRAINYARD_RENDEZVOUS_TOKEN="), std::string::npos);
    // Nor on its command line, which every user of the host can read: the override was
    // applied into the spec the coordinator sent.
    EXPECT_EQ(read_all("/proc/" + pid + "/cmdline").find(secret), std::string::npos);
  }
  // The coordinator's database and its WAL are its own.
  for (const char* f : {"state/state.db", "state/state.db-wal"}) {
    struct stat st {};
    ASSERT_EQ(::stat(path(f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  // Not in the API, the CLI, the logs, the metrics, the run directory or the daemons' output.
  for (const std::string& args : std::vector<std::string>{"status " + id + " --json", "status " + id, "jobs --json", "jobs", "logs " + id,
                                  "logs " + id + " --rank 1", "workers --json"}) {
    ShellResult r = cli(args);
    EXPECT_EQ(r.code, 0) << args << ": " << r.output;
    EXPECT_EQ(r.output.find(secret), std::string::npos) << args;
  }
  ShellResult metrics = run_shell("curl -sf -H \"Authorization: Bearer $(cat " + path("state/token") + ")\" " +
                                      url_ + "/metrics",
                                  10);
  EXPECT_EQ(metrics.code, 0);
  EXPECT_EQ(metrics.output.find(secret), std::string::npos);
  ShellResult grep = run_shell("grep -rl -- '" + secret + "' " + path("runs") + " " + path("coordinator.log") + " " +
                                   path("w1.log") + " || true",
                               10);
  EXPECT_EQ(grep.output, "") << "the secret is in these files";
  EXPECT_NE(read_all(path("runs/" + id + "/job.yaml")).find("TY_TEST_SECRET: <not shown>"), std::string::npos);
  ASSERT_EQ(cli("cancel " + id).code, 0);
  // Once its ranks have ended, the worker's copy of the spec is gone too.
  for (int i = 0; i < 150 && !rank_pids(path("work-w1")).empty(); ++i)  // bounded: 15 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(rank_pids(path("work-w1")).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a heartbeat or so
  ShellResult left = run_shell("find " + path("work-w1") + " -name job.yaml", 10);
  EXPECT_EQ(left.output, "") << "the spec stays on the worker";
}

TEST_F(DaemonJobKeys, AHigherPriorityJobPreemptsARunningOneWhichResumesAndFinishesExactly) {
  start_coordinator();
  start_worker("w1", 1);
  const std::string low = submit(mlp_job_args(150) + "--set checkpoint.every_steps=1000");
  ASSERT_EQ(wait_for(low, [](const std::string& s) { return s == "running"; }, 60).value("state", ""), "running");
  ASSERT_GE(wait_for_steps(low, 30, 120), 30u);
  const std::string high = submit(mlp_job_args(10) + "--priority 5");
  const nlohmann::json h = wait_for(high, [](const std::string& s) { return s == "succeeded" || s == "failed"; }, 120);
  ASSERT_EQ(h.value("state", ""), "succeeded") << h.dump(2);
  const nlohmann::json l = wait_for(low, [](const std::string& s) { return s == "succeeded" || s == "failed"; }, 240);
  ASSERT_EQ(l.value("state", ""), "succeeded") << l.dump(2);
  EXPECT_EQ(l["attempt"], 2);
  EXPECT_EQ(l["restarts"], 0) << "a preemption counted as a restart";
  bool preempted = false;
  for (const auto& t : l["history"])
    preempted |= t["state"] == "queued" && t["cause"] == "preempted by job " + high + " (priority 5)";
  EXPECT_TRUE(preempted) << l.dump(2);
  // It checkpointed on SIGTERM (checkpoint.every_steps is past its end) and resumed there.
  const std::string resumed = read_all(path("runs/.logs/" + low + "/2/rank-0.log"));
  EXPECT_NE(resumed.find("resuming from"), std::string::npos) << resumed;
  const std::vector<double> losses = train_losses(path("runs/" + low + "/metrics.jsonl"));
  EXPECT_EQ(losses.size(), 150u) << "each step once, to train.max_steps";
}

TEST_F(DaemonJobKeys, AJobPastItsMaximumRunTimeIsStoppedWithACheckpointAndFails) {
  start_coordinator();
  start_worker("w1", 1);
  const std::string id = submit(mlp_job_args(1000000) + "--set train.epochs=1000 --set resources.max_runtime_minutes=0.1");
  const nlohmann::json j = wait_for(id, [](const std::string& s) { return s == "failed" || s == "succeeded"; }, 60);
  ASSERT_EQ(j.value("state", ""), "failed") << j.dump(2);
  const std::string cause = j["history"].back()["cause"];
  EXPECT_NE(cause.find("ran past resources.max_runtime_minutes (0.1 min)"), std::string::npos) << cause;
  EXPECT_GE(j["run_s"].get<double>(), 6.0);
  EXPECT_LT(j["run_s"].get<double>(), 9.0);
  // Its rank checkpoints on the SIGTERM, then exits.
  ShellResult ckpt;
  for (int i = 0; i < 150; ++i) {  // bounded: 15 s
    ckpt = run_shell("ls " + path("runs/" + id + "/checkpoints") + " 2>/dev/null | grep step- || true", 10);
    if (!ckpt.output.empty() && rank_pids(path("work-w1")).empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(ckpt.output, "") << "no checkpoint after the stop";
  EXPECT_TRUE(rank_pids(path("work-w1")).empty());
}

}  // namespace
}  // namespace ty
