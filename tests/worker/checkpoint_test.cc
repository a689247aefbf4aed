// Checkpoints and exact resume with the real binary: killed runs continue as if nothing
// happened (bit-identical losses on CPU at the same world size), whatever the kill point,
// torn and corrupt checkpoints are passed over, a changed model is refused, SIGTERM saves.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "storage/checkpoint.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// Signals the trainer of run directory `dir`.
std::string signal_trainer(const std::string& signal_name, const std::string& dir) {
  return "pkill -" + signal_name.substr(3) + " -f 'trainyard train .*[-]-run-dir " + dir + "'";
}

class Checkpoints : public TempDirTest {
 protected:
  // 3000 samples, batch 128: 24 steps per epoch; dropout, whose masks must continue too.
  std::string job(int max_steps = 40) const {
    return std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
           "/examples/fashion_mnist_mlp.yaml --set train.max_steps=" + std::to_string(max_steps) +
           " --set log.every_steps=1 --set data.train_subset=3000 --set model.dropout=0.2 --set runtime.threads=1 "
           "--set checkpoint.every_steps=4 --set data.test= ";
  }
  std::map<int, double> straight() {
    ShellResult r = run_shell(job() + "--run-dir " + path("straight"), 120);
    EXPECT_EQ(r.code, 0) << r.output;
    return losses_by_step(path("straight") + "/metrics.jsonl");
  }
  // Runs with the environment `env` (which kills the run), then resumes to the end.
  void kill_then_resume(const std::string& dir, const std::vector<std::string>& envs) {
    for (const std::string& env : envs) {
      ShellResult r = run_shell("env " + env + " " + job() + "--run-dir " + dir, 120);
      EXPECT_EQ(r.code, 137) << env << "\n" << r.output;  // SIGKILL
    }
    ShellResult r = run_shell(job() + "--run-dir " + dir, 120);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("resuming from"), std::string::npos) << r.output;
  }
};

TEST_F(Checkpoints, KilledMidEpochAtABoundaryAndTwiceInARowResumeExactly) {
  const auto want = straight();
  ASSERT_EQ(want.size(), 40u);
  const std::string kill = "TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=";
  struct Case {
    std::string name;
    std::vector<std::string> envs;
  } cases[] = {{"mid_epoch", {kill + "15"}}, {"epoch_boundary", {kill + "24"}}, {"twice", {kill + "11", kill + "30"}}};
  for (const Case& c : cases) {
    const std::string dir = path(c.name);
    kill_then_resume(dir, c.envs);
    EXPECT_EQ(losses_by_step(dir + "/metrics.jsonl"), want) << c.name;  // to the last bit
  }
}

// The streaming loader resumes at the exact record: 10000 records in 8 shuffle windows, 79
// steps per epoch; killed mid-window, at the epoch boundary, and twice.
TEST_F(Checkpoints, StreamedShardsResumeAtTheExactRecord) {
  ShellResult imp = import_fashion_mnist(TRAINYARD_BINARY, "t10k", path("fm"), 3);
  ASSERT_EQ(imp.code, 0) << imp.output;
  const std::string job = std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
                          "/examples/fashion_mnist_mlp.yaml --set train.max_steps=90 --set log.every_steps=1 "
                          "--set 'data.train=" +
                          path("fm") +
                          "-*' --set validation.fraction=0 --set data.test= "
                          "--set storage.shuffle_window_mb=1 --set model.dropout=0.2 --set runtime.threads=1 "
                          "--set checkpoint.every_steps=4 ";
  ShellResult r = run_shell(job + "--run-dir " + path("straight"), 120);
  ASSERT_EQ(r.code, 0) << r.output;
  ASSERT_NE(r.output.find("streamed"), std::string::npos) << r.output;
  const auto want = losses_by_step(path("straight") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 90u);
  const std::string kill = "env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=";
  for (const auto& [name, steps] :
       std::vector<std::pair<std::string, std::vector<int>>>{{"mid", {18}}, {"boundary", {80}}, {"twice", {13, 50}}}) {
    for (int step : steps) {
      ShellResult k = run_shell(kill + std::to_string(step) + " " + job + "--run-dir " + path(name), 120);
      EXPECT_EQ(k.code, 137) << k.output;
    }
    ShellResult rest = run_shell(job + "--run-dir " + path(name), 120);
    ASSERT_EQ(rest.code, 0) << rest.output;
    EXPECT_NE(rest.output.find("resuming from"), std::string::npos) << rest.output;
    EXPECT_EQ(losses_by_step(path(name) + "/metrics.jsonl"), want) << name;
  }
  // Other shuffle windows under the same position: refused, naming what changed.
  ShellResult changed =
      run_shell(job + "--set storage.shuffle_window_mb=2 --set train.max_steps=100 --run-dir " + path("mid"), 120);
  EXPECT_NE(changed.code, 0);
  EXPECT_NE(changed.output.find("storage.shuffle_window_mb was 1, is 2"), std::string::npos) << changed.output;
}

TEST_F(Checkpoints, EveryKillPointOfASaveLeavesALastCompleteCheckpoint) {
  const auto want = straight();
  for (const char* point : {"after_rank_file", "after_manifest_tmp", "after_manifest_rename", "after_dir_rename"}) {
    const std::string dir = path(point);
    kill_then_resume(dir, {std::string("TRAINYARD_FAULT_CKPT_STEP=12 TRAINYARD_FAULT_CKPT=") + point});
    EXPECT_EQ(losses_by_step(dir + "/metrics.jsonl"), want) << point;
  }
}

TEST_F(Checkpoints, CorruptNewestIsSkippedChangedModelRefusedRetentionKept) {
  const std::string dir = path("run");
  ASSERT_EQ(run_shell(job(20) + "--run-dir " + dir, 120).code, 0);
  std::vector<std::string> kept;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/checkpoints")) kept.push_back(e.path().filename());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"step-0000000012", "step-0000000016", "step-0000000020"}));  // keep: 3
  {
    std::fstream f(dir + "/checkpoints/step-0000000020/rank-00000.bin",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x55');
  }
  ShellResult r = run_shell(job(24) + "--run-dir " + dir, 120);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("skipping an incomplete or corrupt checkpoint"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("resuming from " + dir + "/checkpoints/step-0000000016"), std::string::npos) << r.output;

  ShellResult changed = run_shell(job(30) + "--set model.hidden=[64] --run-dir " + dir, 120);
  EXPECT_NE(changed.code, 0);
  EXPECT_NE(changed.output.find("was written for a different model"), std::string::npos) << changed.output;
  ShellResult batch = run_shell(job(30) + "--set data.batch_size=64 --run-dir " + dir, 120);
  EXPECT_NE(batch.code, 0);
  EXPECT_NE(batch.output.find("written with global_batch 128, this run has 64"), std::string::npos) << batch.output;
  // Directories that only look like checkpoints are left alone (not parsed, not pruned).
  std::filesystem::create_directories(dir + "/checkpoints/step-latest");
  std::filesystem::create_directories(dir + "/checkpoints/step-0000000016-backup");
  ShellResult more = run_shell(job(28) + "--run-dir " + dir, 120);
  EXPECT_EQ(more.code, 0) << more.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-latest"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-0000000016-backup"));
}

// SIGTERM and a first Ctrl-C (SIGINT) both save and stop, with 128 + the signal.
TEST_F(Checkpoints, SigtermAndCtrlCSaveAndStopThenTheRunContinues) {
  for (const auto& [sig, name] : {std::pair{SIGTERM, "SIGTERM"}, std::pair{SIGINT, "SIGINT"}}) {
    const std::string dir = path(name);
    const std::string cmd = job(100000) + "--set train.epochs=1000 --set checkpoint.every_steps=0 --run-dir " + dir;
    FILE* p = popen(("exec " + cmd + " > " + dir + ".log 2>&1").c_str(), "w");
    ASSERT_NE(p, nullptr);
    // Wait (bounded) until it trains, then signal the trainer.
    bool training = false;
    for (int i = 0; i < 200 && !training; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      training = losses_by_step(dir + "/metrics.jsonl").size() >= 5;
    }
    ASSERT_TRUE(training);
    run_shell(signal_trainer(name, dir), 10);
    const int status = pclose(p);
    EXPECT_EQ(WEXITSTATUS(status), 128 + sig) << name;
    std::ifstream log(dir + ".log");
    const std::string out((std::istreambuf_iterator<char>(log)), {});
    EXPECT_NE(out.find(std::string("stopped by ") + name + " after step"), std::string::npos) << out;
    ShellResult again = run_shell(job(3000 / 128 * 2) + "--set checkpoint.every_steps=0 --run-dir " + dir, 120);
    EXPECT_EQ(again.code, 0) << again.output;
    EXPECT_NE(again.output.find("resuming from"), std::string::npos) << again.output;
  }
}

// What defines the trajectory besides the model must match the checkpoint's, and an older
// checkpoint without a field is refused naming it.
TEST_F(Checkpoints, ChangedSeedOrScalingAndMissingFieldsAreRefused) {
  const std::string dir = path("run");
  ASSERT_EQ(run_shell(job(8) + "--run-dir " + dir, 120).code, 0);
  ShellResult seed = run_shell(job(12) + "--set train.seed=5 --run-dir " + dir, 120);
  EXPECT_EQ(seed.code, 2) << seed.output;
  EXPECT_NE(seed.output.find("train.seed was 1, is 5"), std::string::npos) << seed.output;
  ShellResult scaling = run_shell(job(12) + "--set data.normalize=none --run-dir " + dir, 120);
  EXPECT_EQ(scaling.code, 2) << scaling.output;
  EXPECT_NE(scaling.output.find("data.normalize was standardize, is none"), std::string::npos) << scaling.output;
}

// A checkpoint from before dropout masks were keyed holds the place its rank had reached in
// one long draw; where that place is past 0, the masks would not continue.
TEST_F(Checkpoints, OneWithASequentialDropoutOffsetIsRefusedNamingWhy) {
  const std::string dir = path("run");
  ASSERT_EQ(run_shell(job(8) + "--run-dir " + dir, 120).code, 0);
  const FoundCheckpoint found = find_latest_checkpoint(dir + "/checkpoints");
  ASSERT_EQ(found.step, 8);
  auto tensors = load_checkpoint_rank(found, 0);
  ASSERT_TRUE(tensors.ok()) << tensors.status();
  auto with_offset = [&](double offset) {
    NamedTensors out(tensors->begin(), tensors->end());
    Tensor t = Tensor::empty(host_memory(), {1}, DType::kF64);
    t.set(0, offset);
    out.emplace_back("meta.dropout_offset", t);
    return out;
  };
  ASSERT_TRUE(write_checkpoint(dir + "/checkpoints", 9, 0, 1, with_offset(0), std::chrono::seconds(5), 1).ok());
  ShellResult unused = run_shell(job(10) + "--run-dir " + dir, 120);  // no mask drawn yet: it continues
  EXPECT_EQ(unused.code, 0) << unused.output;
  EXPECT_NE(unused.output.find("resuming from " + dir + "/checkpoints/step-0000000009"), std::string::npos)
      << unused.output;
  ASSERT_TRUE(write_checkpoint(dir + "/checkpoints", 11, 0, 1, with_offset(4096), std::chrono::seconds(5), 2).ok());
  ShellResult old = run_shell(job(12) + "--run-dir " + dir, 120);
  EXPECT_EQ(old.code, 2) << old.output;
  EXPECT_NE(old.output.find("step-0000000011: written by a trainyard that drew dropout masks in sequence (it holds "
                            "meta.dropout_offset)"),
            std::string::npos)
      << old.output;
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

TEST_F(Checkpoints, AFullDiskFailsTheSaveLoudlyAndKeepsThePreviousCheckpoint) {
  const std::string mnt = path("small");
  std::filesystem::create_directories(mnt);
  // One checkpoint (~3.3 MB: weights and Adam's two moments) fits in 5 MiB, two do not.
  if (run_shell("mount -t tmpfs -o size=5m tmpfs " + mnt, 10).code != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string dir = mnt + "/run";
  ShellResult r = run_shell(job(30) + "--set checkpoint.every_steps=5 --run-dir " + dir, 120);
  EXPECT_EQ(r.code, 3) << r.output;  // an I/O failure of storage: retryable
  EXPECT_TRUE(r.output.find("No space left") != std::string::npos || r.output.find("disk full") != std::string::npos)
      << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoints/step-0000000005/MANIFEST"));
  run_shell("cp -r " + dir + " " + path("copy"), 30);
  run_shell("umount " + mnt, 10);
  ShellResult again = run_shell(job(8) + "--run-dir " + path("copy"), 120);
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("resuming from " + path("copy") + "/checkpoints/step-0000000005"), std::string::npos)
      << again.output;
}

}  // namespace
}  // namespace ty
