// Data-parallel training under a real `mpirun`: N ranks with local batch B/N train the model
// one rank trains with batch B (same per-step global losses), bad splits are refused, and a
// rank killed mid-training ends the whole job with an error naming it, leaving no orphans.
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// SGD with momentum: its update is linear in the gradient, so the rounding differences of
// summing a batch in N parts stay at float level. (Adam divides by sqrt(v) and turns the
// ~1e-7 differences of near-zero gradients into whole-lr steps; the losses then agree to
// 1e-7 for the first dozen steps and drift to ~1e-4 by step 50 — chaos, not a DP error.)
class Mpirun : public TempDirTest {
 protected:
  const std::string job_ = std::string(TRAINYARD_SOURCE_DIR) +
                           "/examples/fashion_mnist_mlp.yaml --set train.max_steps=50 --set log.every_steps=1 "
                           "--set data.batch_size=96 --set data.train_subset=20000 --set validation.fraction=0 "
                           "--set data.test= --set runtime.threads=1 --set comm.bucket_mb=0.2 "
                           "--set optimizer.name=sgd --set optimizer.lr=0.05 --set optimizer.momentum=0.9 ";
  // A long run of `ranks` ranks into `dir` with the fault environment `env`, bounded by the
  // collective timeout `timeout_s`.
  ShellResult faulty_run(const std::string& env, int ranks, int timeout_s, const std::string& dir) const {
    return run_shell("env " + env + " " + mpirun(ranks) + TRAINYARD_BINARY + " train " + job_ +
                         "--set train.max_steps=100000 --set comm.timeout_s=" + std::to_string(timeout_s) +
                         " --run-dir " + dir,
                     120);
  }
  // Ranks of the run into `dir` still alive ("[-]" keeps the pattern from matching the
  // shell that runs pgrep itself).
  static std::string survivors(const std::string& dir) {
    return run_shell("pgrep -f 'trainyard train .*[-]-run-dir " + dir + "'", 10).output;
  }
};

TEST_F(Mpirun, NRanksMatchOneRankWithTheSameGlobalBatch) {
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job_ + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> want = train_losses(path("one") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 50u);
  for (int np : {2, 3}) {
    const std::string dir = path("np" + std::to_string(np));
    ShellResult r = run_shell(mpirun(np) + TRAINYARD_BINARY + " train " + job_ + "--run-dir " + dir, 300);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find(std::to_string(np) + " rank(s)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("hidden behind backward"), std::string::npos) << r.output;
    const std::vector<double> got = train_losses(dir + "/metrics.jsonl");
    ASSERT_EQ(got.size(), want.size()) << "np " << np;
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "np " << np << " step " << i + 1;
  }
}

// train.accumulate_steps: 2 batches of 48 per optimizer step train as one batch of 96 (the
// same samples), in one process and on 2 ranks, and a run stopped at step 20 resumes on the
// same trajectory.
TEST_F(Mpirun, AccumulatedBatchesTrainLikeOneBatchOfTheirSumOnOneAndTwoRanks) {
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job_ + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> want = train_losses(path("one") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 50u);
  const std::string acc = job_ + "--set data.batch_size=48 --set train.accumulate_steps=2 ";
  auto expect_same = [&](const std::string& dir, const std::string& what) {
    const std::vector<double> got = train_losses(dir + "/metrics.jsonl");
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << what << " step " << i + 1;
  };
  ShellResult local = run_shell(std::string(TRAINYARD_BINARY) + " train " + acc + "--run-dir " + path("acc"), 300);
  ASSERT_EQ(local.code, 0) << local.output;
  EXPECT_NE(local.output.find("50 steps of batch 96"), std::string::npos) << local.output;
  expect_same(path("acc"), "1 rank");
  ShellResult two = run_shell(mpirun(2) + TRAINYARD_BINARY + " train " + acc + "--run-dir " + path("acc2"), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  expect_same(path("acc2"), "2 ranks");
  // (A run cut short by train.max_steps would shape its learning-rate schedule to fewer
  // steps: this one is killed at step 25, after its step-20 checkpoint.)
  const std::string every20 = acc + "--set checkpoint.every_steps=20 ";
  ShellResult part = run_shell("env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=25 " +
                                   std::string(TRAINYARD_BINARY) + " train " + every20 + "--run-dir " + path("resumed"),
                               300);
  ASSERT_NE(part.code, 0) << part.output;
  ShellResult rest = run_shell(std::string(TRAINYARD_BINARY) + " train " + every20 + "--run-dir " + path("resumed"), 300);
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find("resuming from"), std::string::npos) << rest.output;
  const std::map<int64_t, double> resumed = train_losses_by_step(path("resumed/metrics.jsonl"));
  ASSERT_EQ(resumed.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(resumed.at(static_cast<int64_t>(i) + 1), want[i], 1e-5 * std::fabs(want[i])) << "resumed, step " << i + 1;
  // Resuming with another accumulation would not continue the same run: refused, naming it.
  ShellResult changed = run_shell(std::string(TRAINYARD_BINARY) + " train " + every20 +
                                      "--set train.accumulate_steps=4 --set data.batch_size=24 --run-dir " +
                                      path("resumed"),
                                  60);
  EXPECT_EQ(changed.code, 2) << changed.output;
  EXPECT_NE(changed.output.find("train.accumulate_steps was 2, is 4"), std::string::npos) << changed.output;
  // More batches per step than an epoch has: refused, naming the key.
  ShellResult too_many = run_shell(std::string(TRAINYARD_BINARY) + " train " + acc +
                                       "--set train.accumulate_steps=1000 --run-dir " + path("too-many"),
                                   60);
  EXPECT_EQ(too_many.code, 2) << too_many.output;
  EXPECT_NE(too_many.output.find("train.accumulate_steps: 1000 batches per step, but an epoch has 417"),
            std::string::npos)
      << too_many.output;
}

// Smooth pieces (tanh, average pooling): with ReLU and max pooling a float-level difference
// can flip a kink or an argmax and the runs part ways after a dozen steps, as with any
// reordering of sums.
TEST_F(Mpirun, SynchronizedBatchNormMatchesOneRank) {
  const std::string cnn = job_ +
                          "--set model.kind=cnn --set 'model.conv=[{channels: 8, batch_norm: true, pool: avg}]' --set "
                          "model.activation=tanh "
                          "--set model.hidden=[32] --set model.sync_batch_norm=true --set train.max_steps=20 ";
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + cnn + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  ShellResult two = run_shell(mpirun(2) + TRAINYARD_BINARY + " train " + cnn + "--run-dir " + path("two"), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("sync batchnorm"), std::string::npos) << two.output;
  const auto want = train_losses(path("one") + "/metrics.jsonl"), got = train_losses(path("two") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 20u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

TEST_F(Mpirun, TwoRanksCheckpointOneRankResumesOnTheSameTrajectory) {
  // SGD as above with a constant learning rate (a cosine schedule depends on max_steps);
  // 10 steps on 2 ranks, then 20 more on 1 rank from the checkpoint written at the end.
  // (Over 50 steps at a constant lr float-level differences grow past 1e-5 even without a
  // resume; 30 steps stay within it.)
  const std::string job = job_ + "--set schedule.kind=constant --set train.max_steps=30 ";
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job + "--run-dir " + path("straight"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  ShellResult two = run_shell(
      mpirun(2) + TRAINYARD_BINARY + " train " + job + "--set train.max_steps=10 --run-dir " + path("mixed"), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  ShellResult rest = run_shell(std::string(TRAINYARD_BINARY) + " train " + job + "--run-dir " + path("mixed"), 300);
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find("written by 2 ranks"), std::string::npos) << rest.output;
  const auto want = train_losses(path("straight") + "/metrics.jsonl"),
             got = train_losses(path("mixed") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 30u);
  ASSERT_EQ(got.size(), 30u);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

// At resume each rank reads its share of the rank files (the others by size): rank 1 alone
// reads rank 1's file, finds it corrupt, and both ranks go back to the older checkpoint.
TEST_F(Mpirun, ACorruptRankFileThatOneRankReadsSendsEveryRankToTheOlderCheckpoint) {
  const std::string dir = path("run");
  const std::string job = job_ + "--set schedule.kind=constant --set checkpoint.every_steps=5 ";
  ShellResult first = run_shell(mpirun(2) + TRAINYARD_BINARY + " train " + job + "--set train.max_steps=10 --run-dir " +
                                    dir,
                                300);
  ASSERT_EQ(first.code, 0) << first.output;
  {
    std::fstream f(dir + "/checkpoints/step-0000000010/rank-00001.bin", std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekp(300);
    f.put('\x5a');
  }
  ShellResult again = run_shell(
      mpirun(2) + TRAINYARD_BINARY + " train " + job + "--set train.max_steps=12 --run-dir " + dir + " 2>&1", 300);
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("step-0000000010/rank-00001.bin: size"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("skipping checkpoints after step 5"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("resuming from " + dir + "/checkpoints/step-0000000005 (step 5)"), std::string::npos)
      << again.output;
  const auto by_step = train_losses_by_step(dir + "/metrics.jsonl");
  ASSERT_EQ(by_step.size(), 12u);
  EXPECT_EQ(by_step.rbegin()->first, 12);
}

// Streamed shards (1 MiB shuffle windows, 8 windows): 2 ranks read disjoint records of the
// same global batches, and a checkpoint of 2 ranks continues on 1.
TEST_F(Mpirun, StreamedShardsGiveNRanksTheGlobalBatchesOfOneRankAndResumeOnOne) {
  ShellResult imp = import_fashion_mnist(TRAINYARD_BINARY, "t10k", path("fm"), 3);
  ASSERT_EQ(imp.code, 0) << imp.output;
  const std::string job = job_ + "--set 'data.train=" + path("fm") +
                          "-*' --set data.train_subset=0 "
                          "--set storage.shuffle_window_mb=1 --set schedule.kind=constant --set train.max_steps=30 ";
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(one.output.find("streamed"), std::string::npos) << one.output;
  ShellResult two = run_shell(mpirun(2) + TRAINYARD_BINARY + " train " + job + "--run-dir " + path("two"), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  ShellResult part = run_shell(
      mpirun(2) + TRAINYARD_BINARY + " train " + job + "--set train.max_steps=10 --run-dir " + path("mixed"), 300);
  ASSERT_EQ(part.code, 0) << part.output;
  ShellResult rest = run_shell(std::string(TRAINYARD_BINARY) + " train " + job + "--run-dir " + path("mixed"), 300);
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find("written by 2 ranks"), std::string::npos) << rest.output;
  const auto want = train_losses(path("one") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 30u);
  for (const char* dir : {"two", "mixed"}) {
    const auto got = train_losses(path(dir) + "/metrics.jsonl");
    ASSERT_EQ(got.size(), 30u) << dir;
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << dir << " step " << i + 1;
  }
}

TEST_F(Mpirun, GlobalBatchThatDoesNotSplitIsRefused) {
  ShellResult r = run_shell(
      mpirun(3) + TRAINYARD_BINARY + " train " + job_ + "--set data.batch_size=128 --run-dir " + path("bad"), 120);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("data.batch_size: 128 is the global batch and must divide evenly among the 3 ranks"),
            std::string::npos)
      << r.output;
}

TEST_F(Mpirun, AKilledRankEndsTheJobNamingItWithoutOrphans) {
  const std::string dir = path("killed");
  ShellResult r = faulty_run("TRAINYARD_FAULT_KILL_RANK=1 TRAINYARD_FAULT_KILL_STEP=5", 3, 10, dir);
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.code, 124) << "the job hung until the test's timeout:\n" << r.output;
  EXPECT_LT(r.seconds, 10 + 20) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex("rank 1[^0-9]"))) << r.output;
  EXPECT_EQ(survivors(dir), "") << "orphaned ranks";
}

// A rank that stops answering (alive, stuck) is found by its peer's collective timeout:
// the job ends with exit class 3 (retryable), naming the operation, comm.timeout_s and the
// rank that never reached the collective.
TEST_F(Mpirun, AStuckRankEndsTheJobAsRetryable) {
  const std::string dir = path("stuck");
  ShellResult r = faulty_run("TRAINYARD_FAULT_STALL_RANK=1 TRAINYARD_FAULT_STALL_STEP=5", 2, 3, dir);
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_NE(r.output.find("comm.timeout_s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 has not reached it (stuck or gone; rank 0 waits in it)"), std::string::npos)
      << r.output;
  EXPECT_LT(r.seconds, 3 + 30) << r.output;
  EXPECT_EQ(survivors(dir), "") << "orphaned ranks";
}

// Rank 0 alone takes the run directory; when it cannot, every rank learns so and the job
// ends at once as the user's error, not after a collective timeout.
TEST_F(Mpirun, ARunDirectoryRankZeroCannotTakeEndsEveryRankAsAUserError) {
  const std::string dir = path("foreign");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/notes.txt") << "someone else's\n";
  ShellResult r =
      run_shell(mpirun(2) + TRAINYARD_BINARY + " train " + job_ + "--set comm.timeout_s=60 --run-dir " + dir, 120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_LT(r.seconds, 30) << r.output;
  EXPECT_NE(r.output.find("is not empty and is not a trainyard run directory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 of 2: rank 0 could not take the run directory"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
