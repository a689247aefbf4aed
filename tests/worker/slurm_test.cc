// Launching under a real one-node Slurm (munged, slurmctld, slurmd started for this test):
// `srun --mpi=pmix -n 2 trainyard train ...` trains data-parallel and matches one rank.
#include <sys/wait.h>

#include <cmath>
#include <fstream>
#include <regex>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

const std::string kCluster = std::string(TRAINYARD_SOURCE_DIR) + "/tests/integration/slurm_cluster.sh";

class Slurm : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ShellResult started = run_shell(kCluster + " start " + path("cluster"), 90);
    ASSERT_EQ(started.code, 0) << "could not start a local Slurm:\n" << started.output;
    conf_ = "SLURM_CONF=" + path("cluster") + "/slurm.conf ";
  }
  void TearDown() override {
    run_shell(kCluster + " stop " + path("cluster"), 30);
    TempDirTest::TearDown();
  }
  std::string conf_;
};

TEST_F(Slurm, SrunWithPmixTrainsOnTwoRanksLikeOneRank) {
  const std::string job = std::string(TRAINYARD_SOURCE_DIR) +
                          "/examples/fashion_mnist_mlp.yaml --set train.max_steps=20 --set log.every_steps=1 "
                          "--set data.train_subset=5000 --set validation.fraction=0 --set data.test= "
                          "--set runtime.threads=1 --set optimizer.name=sgd --set optimizer.lr=0.05 ";
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job + "--run-dir " + path("one"), 120);
  ASSERT_EQ(one.code, 0) << one.output;
  ShellResult two =
      run_shell(conf_ + "srun --mpi=pmix -n 2 " + TRAINYARD_BINARY + " train " + job + "--run-dir " + path("two"), 180);
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("2 rank(s)"), std::string::npos) << two.output;
  const auto want = train_losses(path("one") + "/metrics.jsonl"), got = train_losses(path("two") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 20u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

}  // namespace
}  // namespace ty
