// Pipeline parallelism under a real `mpirun`: GPipe and 1F1B over 2 and 4 stages (and
// over UCX) give the per-step losses of one process accumulating the same micro-batches,
// bit for bit, with dropout; a data × pipeline grid those of data parallelism; a run saved
// on 2 stages resumes on 1, 2 or 4 (or 2 × 2) and continues; 1F1B holds at most P − s
// micro-batches on stage s; a stage frozen mid-step fails every rank with an error naming
// the stage, the operation and the micro-batch.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// An 11-layer MLP (flatten, then linear, relu and dropout 0.2 × 3, linear): room for 4
// stages, and masks that must not depend on the stages. SGD with momentum keeps
// float-level differences at float level (see mpirun_test.cc).
class PipelineMpirun : public TempDirTest {
 protected:
  const std::string job_ = std::string(TRAINYARD_SOURCE_DIR) +
                           "/examples/fashion_mnist_mlp.yaml --set train.max_steps=50 --set log.every_steps=1 "
                           "--set data.batch_size=96 --set data.train_subset=19200 --set validation.fraction=0 "
                           "--set data.test= --set runtime.threads=1 --set model.hidden=[64,64,64] "
                           "--set model.dropout=0.2 --set optimizer.name=sgd --set optimizer.lr=0.05 "
                           "--set optimizer.momentum=0.9 "
                           "--set parallel.pipeline.microbatches=4 ";
  ShellResult train(int np, const std::string& settings, const std::string& dir, int timeout_s = 300) const {
    return run_shell((np > 1 ? mpirun(np) : "") + TRAINYARD_BINARY + " train " + job_ + settings + " --run-dir " + dir,
                     timeout_s);
  }
  // The per-step losses of a run that must succeed with `steps` steps (empty otherwise).
  std::vector<double> losses_of(int np, const std::string& settings, const std::string& name, size_t steps) {
    ShellResult r = train(np, settings, path(name));
    EXPECT_EQ(r.code, 0) << r.output;
    std::vector<double> got = train_losses(path(name + "/metrics.jsonl"));
    EXPECT_EQ(got.size(), steps) << r.output;
    return got.size() == steps ? got : std::vector<double>{};
  }
  static std::string stages(int p, const char* schedule = "1f1b") {
    return "--set parallel.pipeline.stages=" + std::to_string(p) + " --set parallel.pipeline.schedule=" + schedule;
  }
};

TEST_F(PipelineMpirun, SchedulesMatchOneProcessAccumulatingTheSameMicroBatches) {
  const std::vector<double> want = losses_of(1, "", "acc", 50);
  const std::vector<double> whole_batch = losses_of(1, "--set parallel.pipeline.microbatches=1", "whole", 50);
  ASSERT_TRUE(!want.empty() && !whole_batch.empty());
  for (const auto& [np, settings] : std::vector<std::pair<int, std::string>>{
           {2, stages(2, "gpipe")},
           {2, stages(2)},
           {4, stages(4, "gpipe")},
           {4, stages(4)},
           {2, stages(2) + " --set comm.backend=ucx"}}) {  // point-to-point over UCX (met through MPI)
    SCOPED_TRACE(settings);
    const std::string dir = path("run" + std::to_string(np) + "-" + settings.substr(settings.size() - 4));
    ShellResult r = train(np, settings, dir);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("pipeline: stage 0: layers 0–"), std::string::npos) << r.output;
    if (settings.find("ucx") != std::string::npos) {
      EXPECT_NE(r.output.find("(1f1b), ucx ("), std::string::npos) << r.output;
    }
    const std::vector<double> got = train_losses(dir + "/metrics.jsonl");
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i], want[i]) << "step " << i + 1;  // the same sums in the same order
      EXPECT_NEAR(got[i], whole_batch[i], 1e-5 * std::fabs(whole_batch[i])) << "step " << i + 1;
    }
    std::ifstream metrics(dir + "/metrics.jsonl");
    const std::string text((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
    std::smatch bubble;
    ASSERT_TRUE(std::regex_search(text, bubble, std::regex(R"("kind":"epoch".*"bubble_fraction":([0-9.e-]+))")))
        << text;
    EXPECT_GT(std::stod(bubble[1]), 0.0);
    EXPECT_LT(std::stod(bubble[1]), 1.0);
    // weights.bin is whole: it evaluates as the one-process run's does.
    if (settings == stages(2)) {
      const std::string eval =
          std::string(TRAINYARD_BINARY) + " eval " + std::string(TRAINYARD_SOURCE_DIR) +
          "/examples/fashion_mnist_mlp.yaml --set model.hidden=[64,64,64] --set model.dropout=0.2 --weights ";
      ShellResult mine = run_shell(eval + dir + "/weights.bin", 120),
                  theirs = run_shell(eval + path("acc/weights.bin"), 120);
      ASSERT_EQ(mine.code, 0) << mine.output;
      ASSERT_EQ(theirs.code, 0) << theirs.output;
      auto figures = [](const std::string& out) { return out.substr(0, out.find("metrics:")); };
      EXPECT_EQ(figures(mine.output), figures(theirs.output));
    }
  }
  // A 2 × 2 grid: data parallel over two replicas of a 2-stage pipeline, as 2 ranks of data
  // parallelism accumulating the same micro-batches.
  ShellResult dp = train(2, "", path("dp"));
  ASSERT_EQ(dp.code, 0) << dp.output;
  const std::vector<double> dp_losses = train_losses(path("dp/metrics.jsonl"));
  ShellResult grid = train(4, stages(2), path("grid"));
  ASSERT_EQ(grid.code, 0) << grid.output;
  EXPECT_NE(grid.output.find("pipeline of 2 stages × 2 data replicas"), std::string::npos) << grid.output;
  const std::vector<double> got = train_losses(path("grid/metrics.jsonl"));
  ASSERT_EQ(got.size(), dp_losses.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], dp_losses[i]) << "2 x 2, step " << i + 1;
    EXPECT_NEAR(got[i], whole_batch[i], 1e-5 * std::fabs(whole_batch[i])) << "2 x 2, step " << i + 1;
  }
}

// train.clip_grad_norm clips by the whole model's norm, every stage's part of it summed: as
// one process clips (the f64 sum of squares is only added in another order).
TEST_F(PipelineMpirun, ClippingTakesTheWholeModelsNorm) {
  const std::string clip = " --set train.clip_grad_norm=0.5 --set train.max_steps=30 ";
  const std::vector<double> want = losses_of(1, clip, "acc", 30);
  ASSERT_FALSE(want.empty());
  EXPECT_NE(losses_of(1, " --set train.max_steps=30 ", "unclipped", 30), want) << "the clip never bit";
  const std::vector<double> got = losses_of(2, stages(2) + clip, "piped", 30);
  ASSERT_FALSE(got.empty());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6 * std::fabs(want[i])) << "step " << i + 1;
}

// The activation bytes each stage's ranks held (the epoch record's "activation_mib"), from
// the last epoch record of `dir`'s metrics.jsonl.
std::vector<double> activation_mib(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<double> out;
  std::smatch m;
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, std::regex(R"("kind":"epoch".*"activation_mib":\[([^\]]*)\])"))) {
      out.clear();
      std::stringstream list(m[1].str());
      for (std::string v; std::getline(list, v, ',');) out.push_back(std::stod(v));
    }
  return out;
}

// 1F1B holds at most min(P - s, M) micro-batches on stage s; GPipe all M. One micro-batch's
// worth per stage: the same micro-batch (12 rows) alone in a step.
TEST_F(PipelineMpirun, OneFOneBHoldsAtMostPMinusSMicroBatchesPerStage) {
  const std::string short_run = " --set train.max_steps=6 ";
  ShellResult one =
      train(4, stages(4, "gpipe") + short_run + "--set data.batch_size=12 --set parallel.pipeline.microbatches=1",
            path("one"));
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> unit = activation_mib(path("one"));
  ASSERT_EQ(unit.size(), 4u) << one.output;
  std::map<std::string, std::vector<double>> held;
  for (const auto& [schedule, live] :
       std::vector<std::pair<const char*, std::vector<int>>>{{"1f1b", {4, 3, 2, 1}}, {"gpipe", {8, 8, 8, 8}}}) {
    SCOPED_TRACE(schedule);
    const std::string dir = path(schedule);
    ShellResult r = train(4, stages(4, schedule) + short_run + "--set parallel.pipeline.microbatches=8", dir);
    ASSERT_EQ(r.code, 0) << r.output;
    held[schedule] = activation_mib(dir);
    ASSERT_EQ(held[schedule].size(), 4u) << r.output;
    for (size_t s = 0; s < 4; ++s) {
      EXPECT_GT(unit[s], 0) << "stage " << s;
      std::printf("%s stage %zu: %.4f MiB = %.2f micro-batches (bound %d)\n", schedule, s, held[schedule][s],
                  held[schedule][s] / unit[s], live[s]);
      EXPECT_LE(held[schedule][s], live[s] * unit[s] * 1.05)
          << "stage " << s << ": one micro-batch holds " << unit[s] << " MiB";
    }
  }
  for (size_t s = 0; s < 4; ++s) EXPECT_GT(held["gpipe"][s], held["1f1b"][s]) << "stage " << s;
}

// (A constant learning rate: the first part stops at train.max_steps 20, which would
// otherwise shape a cosine schedule to 20 steps.)
TEST_F(PipelineMpirun, ACheckpointOfTwoStagesResumesOnOneTwoOrFourAndOnAGrid) {
  const std::string constant = "--set schedule.kind=constant ";
  const std::vector<double> want = losses_of(1, constant, "acc", 50);
  ASSERT_FALSE(want.empty());
  ShellResult part = train(2, constant + stages(2) + " --set train.max_steps=20", path("saved"));
  ASSERT_EQ(part.code, 0) << part.output;
  ASSERT_TRUE(std::filesystem::exists(path("saved/checkpoints/step-0000000020/MANIFEST"))) << part.output;
  std::filesystem::remove(path("saved/weights.bin"));  // (else the resumed runs would be finished already)
  int layouts = 0;
  for (const auto& [np, settings, exact] : std::vector<std::tuple<int, std::string, bool>>{
           {1, "", true}, {2, stages(2), true}, {4, stages(4), true}, {4, stages(2), false}}) {
    SCOPED_TRACE(std::to_string(np) + " ranks " + settings);
    const std::string dir = path("resumed-" + std::to_string(++layouts));
    std::filesystem::copy(path("saved"), dir, std::filesystem::copy_options::recursive);
    ShellResult r = train(np, constant + settings, dir);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("resuming from"), std::string::npos) << r.output;
    const std::map<int64_t, double> got = train_losses_by_step(dir + "/metrics.jsonl");
    ASSERT_EQ(got.size(), want.size());
    for (int64_t step = 21; step <= 50; ++step) {
      if (exact)
        EXPECT_EQ(got.at(step), want[static_cast<size_t>(step - 1)]) << "step " << step;
      else  // (the replicas' gradients are summed in another order)
        EXPECT_NEAR(got.at(step), want[static_cast<size_t>(step - 1)], 1e-5 * want[static_cast<size_t>(step - 1)])
            << "step " << step;
    }
  }
}

TEST_F(PipelineMpirun, AFrozenOrKilledStageFailsEveryRankNamingStageOperationAndMicroBatch) {
  const std::string forever = stages(2) + " --set train.max_steps=100000 --set comm.timeout_s=3";
  const auto t0 = std::chrono::steady_clock::now();
  ShellResult stopped = run_shell(
      "env TRAINYARD_FAULT_STOP_RANK=1 TRAINYARD_FAULT_STOP_STEP=5 "
      "TRAINYARD_FAULT_STOP_MICROBATCH=1 " +
          mpirun(2) + TRAINYARD_BINARY + " train " + job_ + forever + " --run-dir " + path("stopped"),
      120);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(stopped.code, 0) << stopped.output;
  // Start-up and 5 steps take a few seconds; then the 3 s timeout, + 5 s to wind down.
  EXPECT_LT(seconds, 30) << stopped.output;
  EXPECT_TRUE(std::regex_search(stopped.output,
                                std::regex("pipeline stage 0 of 2 \\(replica 0, rank 0\\): (backward|forward|receive "
                                           "gradient|send activation) mb [0-9]+ with stage 1: .*")))
      << stopped.output;
  EXPECT_EQ(run_shell("pgrep -f 'trainyard train .*[-]-run-dir " + path("stopped") + "'", 10).output, "");
  ShellResult killed = run_shell("env TRAINYARD_FAULT_KILL_RANK=1 TRAINYARD_FAULT_KILL_STEP=5 " + mpirun(2) +
                                     TRAINYARD_BINARY + " train " + job_ + forever + " --run-dir " + path("killed"),
                                 120);
  EXPECT_NE(killed.code, 0) << killed.output;
  EXPECT_EQ(run_shell("pgrep -f 'trainyard train .*[-]-run-dir " + path("killed") + "'", 10).output, "");
}

}  // namespace
}  // namespace ty
