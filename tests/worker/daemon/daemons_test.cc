// The coordinator and worker daemons together, on loopback: jobs run to the end, a spec
// error inside a rank fails the job at once, a worker killed mid-job leaves no rank behind
// and its job restarts from the newest checkpoint; a pipeline job's replicas are placed
// stages together, replicas apart.
#include <cmath>

#include "tests/support/daemons.h"
#include "tests/support/jobs.h"

namespace ty {
namespace {

class Daemons : public DaemonsTest {
 protected:
  static std::string job(int steps) { return mlp_job_args(steps); }
  // A job that runs until it is stopped (train.epochs would otherwise end it within seconds).
  static std::string endless_job() { return job(100000) + "--set train.epochs=1000 "; }
  // Job `id`'s attempt 2 resumed from a checkpoint, and the run ended at step `steps`.
  void expect_resumed_to_the_end(const std::string& id, int steps) {
    ShellResult last = run_shell(
        "grep '\"kind\":\"train\"' " + path("runs/" + id + "/metrics.jsonl") + " | tail -1 | grep -o '\"step\":[0-9]*'",
        10);
    EXPECT_EQ(last.output, "\"step\":" + std::to_string(steps) + "\n") << "the run ends at train.max_steps";
    ShellResult resumed =
        run_shell("grep -h 'resuming from' " + path("runs/.logs/" + id + "/2/rank-0.log") + " 2>/dev/null || true", 10);
    EXPECT_NE(resumed.output, "") << "attempt 2 did not resume from a checkpoint";
  }
};

TEST_F(Daemons, ATwoRankJobOnTwoWorkersTrainsLikeOneRank) {
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job(30) + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> want = train_losses(path("one") + "/metrics.jsonl");
  start_coordinator();
  start_worker("w1", 1);
  start_worker("w2", 1);
  const std::string id = submit(job(30) + "--ranks 2");
  const nlohmann::json j = wait_for(id, ended, 240);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_NE(j["history"][1]["cause"].get<std::string>().find("w1 (rank 0), w2 (rank 1)"), std::string::npos)
      << j.dump(2);
  const std::vector<double> got = train_losses(path("runs/" + id + "/metrics.jsonl"));
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

TEST_F(Daemons, ASpecErrorInsideARankFailsTheJobAtOnceWithItsLastLines) {
  start_coordinator();
  start_worker("w1", 2);
  // Valid for the parser, wrong at run time: a training file that is not there.
  const std::string id = submit(job(5) + "--ranks 2 --set data.train=" + path("no-such-images-idx3-ubyte"));
  const nlohmann::json j = wait_for(id, ended, 120);
  ASSERT_EQ(j.value("state", ""), "failed") << j.dump(2);
  const std::string cause = j["history"].back()["cause"];
  EXPECT_NE(cause.find("exited 2"), std::string::npos) << cause;
  EXPECT_NE(cause.find("no-such-images"), std::string::npos) << cause;
  EXPECT_EQ(j["restarts"], 0);
}

TEST_F(Daemons, AKilledWorkerLeavesNoRankAndItsJobRestartsFromTheCheckpointWhenCapacityReturns) {
  start_coordinator();
  start_worker("w1", 1);
  start_worker("w2", 1);
  const std::string id = submit(job(400) + "--ranks 2 --set checkpoint.every_steps=20");
  ASSERT_EQ(wait_for(
                id, [](const std::string& s) { return s == "running"; }, 60)
                .value("state", ""),
            "running");
  ASSERT_GE(wait_for_steps(id, 45, 120), 45u);  // training runs and a checkpoint exists
  kill("w2");
  const auto killed = std::chrono::steady_clock::now();
  // Its rank dies with it; the job leaves `running` within the worker timeout (5 s) and more.
  const nlohmann::json after = wait_for(
      id, [](const std::string& s) { return s != "running"; }, 30);
  EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(8));
  EXPECT_NE(after.value("state", ""), "failed") << after.dump(2);
  // ("[t]rainyard": the pattern must not match the shell that runs pgrep.)
  ShellResult orphans = run_shell("pgrep -f -- '[t]rainyard train " + path("work-w2") + "' || true", 10);
  EXPECT_EQ(orphans.output, "") << "ranks of the killed worker still run";
  start_worker("w2", 1);  // capacity returns under the same name
  const nlohmann::json j = wait_for(id, ended, 300);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_GE(j["attempt"].get<int>(), 2);
  EXPECT_EQ(j["restarts"].get<int>(), 0) << "a worker loss counted as a restart:\n" << j.dump(2);
  expect_resumed_to_the_end(id, 400);
}

// A 2 × 2 pipeline job on two 4-slot workers: each replica's two stages on one worker, the
// replicas on different ones (packing would put all four on one); a lost worker restarts it
// from its checkpoint like any job, and it ends at train.max_steps.
TEST_F(Daemons, APipelineJobKeepsEachReplicasStagesTogetherAndSurvivesAWorkerLoss) {
  start_coordinator();
  start_worker("w1", 4);
  start_worker("w2", 4);
  ASSERT_TRUE(wait_for_workers(2, 30));  // (else w1 alone could take the whole job)
  const std::string id = submit(job(2000) +
                                "--ranks 4 --set parallel.pipeline.stages=2 --set model.hidden=[64,64,64] "
                                "--set checkpoint.every_steps=20");
  const nlohmann::json running = wait_for(
      id, [](const std::string& s) { return s == "running"; }, 60);
  ASSERT_EQ(running.value("state", ""), "running") << running.dump(2);
  EXPECT_NE(running["history"][1]["cause"].get<std::string>().find("w1 (ranks 0,1), w2 (ranks 2,3)"), std::string::npos)
      << running.dump(2);
  ASSERT_GE(wait_for_steps(id, 45, 180), 45u);  // training runs and a checkpoint exists
  kill("w2");
  const nlohmann::json after = wait_for(
      id, [](const std::string& s) { return s != "running"; }, 30);
  EXPECT_NE(after.value("state", ""), "failed") << after.dump(2);
  start_worker("w2", 4);
  const nlohmann::json j = wait_for(id, ended, 300);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_GE(j["attempt"].get<int>(), 2);
  expect_resumed_to_the_end(id, 2000);
}

TEST_F(Daemons, AGangThatDoesNotFitStartsNoRankAndSaysWhy) {
  start_coordinator();
  start_worker("w1", 2);
  start_worker("w2", 2);
  const std::string busy = submit(endless_job());  // takes 1 of the 4 slots
  ASSERT_EQ(wait_for(
                busy, [](const std::string& s) { return s == "running"; }, 60)
                .value("state", ""),
            "running");
  const std::string four = submit(job(5) + "--ranks 4");
  const std::string never = submit(job(5) + "--ranks 100");
  std::this_thread::sleep_for(std::chrono::seconds(2));  // several scheduling rounds
  const nlohmann::json f = nlohmann::json::parse(cli("status " + four + " --json").output);
  EXPECT_EQ(f["state"], "queued") << f.dump(2);
  EXPECT_EQ(f["reason"], "needs 4 slots, 3 free") << f.dump(2);
  const nlohmann::json n = nlohmann::json::parse(cli("status " + never + " --json").output);
  EXPECT_EQ(n["reason"], "can never fit: needs 100 slots, the registered workers have 4") << n.dump(2);
  ShellResult started =
      run_shell("ls -d " + path("work-w1/" + four) + " " + path("work-w2/" + four) + " 2>/dev/null", 10);
  EXPECT_EQ(started.output, "") << "a rank of the 4-rank job started";
}

TEST_F(Daemons, HigherPriorityFirstThenSubmissionOrder) {
  start_coordinator();
  start_worker("w1", 1);
  const std::string running = submit(endless_job());
  ASSERT_EQ(wait_for(
                running, [](const std::string& s) { return s == "running"; }, 60)
                .value("state", ""),
            "running");
  const std::string low = submit(job(5));
  const std::string high = submit(job(5) + "--priority 5");
  const std::string low2 = submit(job(5));
  ASSERT_EQ(cli("cancel " + running).code, 0);
  for (const std::string& id : {high, low, low2})
    ASSERT_EQ(wait_for(id, ended, 120).value("state", ""), "succeeded") << id;
  // Each started after the one before it ended: the order of their "running" records.
  auto started_ms = [&](const std::string& id) {
    const nlohmann::json status = nlohmann::json::parse(cli("status " + id + " --json").output);
    for (const auto& h : status["history"])
      if (h["state"] == "running") return h["at_ms"].get<int64_t>();
    return int64_t{0};
  };
  EXPECT_LT(started_ms(high), started_ms(low));
  EXPECT_LT(started_ms(low), started_ms(low2));
}

TEST_F(Daemons, AJobThatAlwaysCrashesFailsAfterMaxRestartsPlusOneAttempts) {
  start_coordinator();
  start_worker("w1", 1);
  // A learning rate that makes the loss NaN within a few steps: exit 1 every time.
  const std::string id = submit(job(50) + "--set optimizer.lr=1000 --set restart.max_restarts=1");
  // Followed from the start, the logs go on from attempt 1 to attempt 2, and end with the job.
  ShellResult follower = cli("logs " + id + " --follow > " + path("followed.log") + " 2>&1 & echo $!");
  ASSERT_EQ(follower.code, 0);
  const nlohmann::json j = wait_for(id, ended, 120);
  ASSERT_EQ(j.value("state", ""), "failed") << j.dump(2);
  EXPECT_EQ(j["attempt"], 2);
  const std::string cause = j["history"].back()["cause"];
  EXPECT_NE(cause.find("exited 1"), std::string::npos) << cause;
  EXPECT_NE(cause.find("loss became nan"), std::string::npos) << cause;
  EXPECT_NE(cause.find("failed after 1 restarts (restart.max_restarts 1)"), std::string::npos) << cause;
  const std::string pid = follower.output.substr(0, follower.output.find('\n'));
  for (int i = 0; i < 100 && run_shell("kill -0 " + pid + " 2>/dev/null", 10).code == 0; ++i)  // bounded: 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(run_shell("kill -0 " + pid + " 2>/dev/null", 10).code, 0) << "logs --follow did not end with the job";
  const std::string followed = run_shell("cat " + path("followed.log"), 10).output;
  EXPECT_NE(followed.find("trainyard logs: job " + id + ": attempt 2"), std::string::npos) << followed;
  size_t nans = 0;
  for (size_t at = followed.find("loss became nan"); at != std::string::npos;
       at = followed.find("loss became nan", at + 1))
    ++nans;
  EXPECT_EQ(nans, 2u) << followed;
}

TEST_F(Daemons, CancelingARunningJobEndsItsRanksWithinTenSeconds) {
  start_coordinator();
  start_worker("w1", 2);
  const std::string id = submit(endless_job() + "--ranks 2");
  ASSERT_EQ(wait_for(
                id, [](const std::string& s) { return s == "running"; }, 60)
                .value("state", ""),
            "running");
  wait_for_steps(id, 3, 60);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(cli("cancel " + id).code, 0);
  EXPECT_EQ(nlohmann::json::parse(cli("status " + id + " --json").output)["state"], "canceled");
  ShellResult left;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    left = run_shell("pgrep -f -- '[t]rainyard train " + path("work-w1") + "' || true", 10);
    if (left.output.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left.output, "") << "ranks still run 10 s after the cancel";
}

TEST_F(Daemons, ARankKilledByASignalRestartsTheJobFromItsCheckpointCounted) {
  start_coordinator();
  start_worker("w1", 2);
  const std::string id = submit(job(200) + "--ranks 2 --set checkpoint.every_steps=20");
  ASSERT_GE(wait_for_steps(id, 45, 120), 45u);
  ShellResult rank1 = run_shell("pgrep -f -- '[t]rainyard train " + path("work-w1/" + id + "/1/rank-1") + "'", 10);
  ASSERT_EQ(rank1.code, 0) << "rank 1 is not running";
  run_shell("kill -9 " + rank1.output, 10);
  const nlohmann::json j = wait_for(id, ended, 240);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_EQ(j["attempt"], 2);
  EXPECT_EQ(j["restarts"], 1) << "a rank killed by a signal is a counted restart";
  bool signaled = false;
  for (const auto& h : j["history"])
    signaled |=
        h["state"] == "restarting" && h["cause"].get<std::string>().find("killed by signal 9") != std::string::npos;
  EXPECT_TRUE(signaled) << j.dump(2);
  const std::string log = run_shell("cat " + path("runs/.logs/" + id + "/2/rank-0.log"), 10).output;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  EXPECT_EQ(train_losses_by_step(path("runs/" + id + "/metrics.jsonl")).size(), 200u);
}

TEST_F(Daemons, CancelingARestartingJobEndsItWithinTenSecondsAndLeavesNoRank) {
  start_coordinator();
  start_worker("w1", 1);
  start_worker("w2", 1);
  const std::string id = submit(endless_job() + "--ranks 2");
  ASSERT_GE(wait_for_steps(id, 5, 120), 5u);
  kill("w2");  // no capacity comes back: the job waits in `restarting`
  ASSERT_EQ(wait_for(
                id, [](const std::string& s) { return s == "restarting"; }, 30)
                .value("state", ""),
            "restarting");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(cli("cancel " + id).code, 0);
  ShellResult left;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    left = run_shell("pgrep -f -- '[t]rainyard train " + path("work-") + "' || true", 10);
    if (left.output.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(left.output, "") << "ranks still run 10 s after the cancel";
  EXPECT_EQ(nlohmann::json::parse(cli("status " + id + " --json").output)["state"], "canceled");
  EXPECT_EQ(cli("wait " + id).code, 5);
}

TEST_F(Daemons, WaitLogsAndWorkersFromTheCli) {
  start_coordinator();
  start_worker("w1", 2);
  ShellResult done = cli("submit --wait " + job(10) + "--ranks 2");
  EXPECT_EQ(done.code, 0) << done.output;  // wait: 0 when the job succeeded
  std::string id = done.output.substr(0, done.output.find('\n'));
  const nlohmann::json status = nlohmann::json::parse(cli("status " + id + " --json").output);
  EXPECT_EQ(status["progress"].value("step", 0), 10) << status.dump(2);  // rank 0's last record
  EXPECT_TRUE(status["progress"].contains("loss")) << status.dump(2);
  EXPECT_NE(cli("status " + id).output.find("  progress: step 10, loss "), std::string::npos);
  ShellResult log0 = cli("logs " + id);
  EXPECT_EQ(log0.code, 0) << log0.output;
  EXPECT_NE(log0.output.find("weights: " + path("runs/" + id) + "/weights.bin"), std::string::npos) << log0.output;
  ShellResult log1 = cli("logs " + id + " --rank 1 --follow");  // an ended job: follow returns
  EXPECT_EQ(log1.code, 0) << log1.output;
  EXPECT_EQ(cli("logs " + id + " --rank 2").code, 2);
  const std::string crash = submit(job(50) + "--set optimizer.lr=1000 --set restart.max_restarts=0");
  EXPECT_EQ(cli("wait " + crash).code, 1);
  const std::string queued = submit(job(5) + "--ranks 3");  // never placed: 2 slots
  ASSERT_EQ(cli("cancel " + queued).code, 0);
  EXPECT_EQ(cli("wait " + queued).code, 5);
  ShellResult workers = cli("workers --json");
  ASSERT_EQ(workers.code, 0) << workers.output;
  const nlohmann::json w = nlohmann::json::parse(workers.output)["workers"];
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]["name"], "w1");
  EXPECT_EQ(w[0]["slots"], 2);
}

// SIGKILL the coordinator 0, 20 and 60 s into a running job and restart it: the job
// finishes without a rank restart, and the jobs queued behind it keep their order.
class CoordinatorKilled : public DaemonsTest, public ::testing::WithParamInterface<int> {
 protected:
  // Steps of the test job this machine runs in about `seconds` (one rank, measured now: the
  // time of 1200 steps less that of 200, so that start-up does not count).
  int64_t steps_for(double seconds) {
    auto time_of = [&](int steps) {
      const auto t0 = std::chrono::steady_clock::now();
      ShellResult r =
          run_shell(std::string(TRAINYARD_BINARY) + " train " + mlp_job_args(steps) +
                        "--set train.epochs=1000 --run-dir " + path("pace" + std::to_string(steps)) + " 2>&1",
                    120);
      EXPECT_EQ(r.code, 0) << r.output;
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const double per_step = std::max(1e-4, (time_of(1200) - time_of(200)) / 1000);
    return static_cast<int64_t>(seconds / per_step);
  }
};

TEST_P(CoordinatorKilled, TheJobFinishesWithoutARankRestartAndQueuedJobsKeepTheirOrder) {
  const int after_s = GetParam();
  // Paced for half as long again as the kill point, plus 15 s: the pace is measured while
  // other tests may share the cores, and a job that then runs alone goes faster (found in
  // CI: a job paced for 75 s finished at the 60 s kill).
  const int64_t steps = steps_for(after_s * 1.5 + 15.0);
  start_coordinator();
  start_worker("w1", 1);
  const std::string id = submit(mlp_job_args(steps) + "--set train.epochs=100000");
  ASSERT_EQ(wait_for(
                id, [](const std::string& s) { return s == "running"; }, 60)
                .value("state", ""),
            "running");
  const std::string a = submit(mlp_job_args(5)), b = submit(mlp_job_args(5)), c = submit(mlp_job_args(5));
  ASSERT_GE(wait_for_steps(id, 1, 60), 1u);  // the rank runs: its start order was delivered
  std::this_thread::sleep_for(std::chrono::seconds(after_s));
  ASSERT_EQ(nlohmann::json::parse(cli("status " + id + " --json").output)["state"], "running") << "ended too soon";
  kill("coordinator");
  const size_t at_kill = train_losses(path("runs/" + id + "/metrics.jsonl")).size();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_GT(train_losses(path("runs/" + id + "/metrics.jsonl")).size(), at_kill) << "the ranks stopped with it";
  start_coordinator();
  const nlohmann::json j = wait_for(id, ended, 300);
  ASSERT_EQ(j.value("state", ""), "succeeded") << j.dump(2);
  EXPECT_EQ(j["attempt"], 1) << "a rank restarted:\n" << j.dump(2);
  EXPECT_EQ(train_losses(path("runs/" + id + "/metrics.jsonl")).size(), static_cast<size_t>(steps));
  auto started_ms = [&](const std::string& job) {
    const nlohmann::json status = wait_for(job, ended, 120);
    EXPECT_EQ(status.value("state", ""), "succeeded") << status.dump(2);
    for (const auto& h : status["history"])
      if (h["state"] == "running") return h["at_ms"].get<int64_t>();
    return int64_t{0};
  };
  const int64_t ta = started_ms(a), tb = started_ms(b), tc = started_ms(c);
  EXPECT_LT(ta, tb);
  EXPECT_LT(tb, tc);
}

INSTANTIATE_TEST_SUITE_P(Seconds, CoordinatorKilled, ::testing::Values(0, 20, 60),
                         [](const ::testing::TestParamInfo<int>& i) { return std::to_string(i.param) + "sIn"; });

}  // namespace
}  // namespace ty
