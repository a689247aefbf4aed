// Ranks that no mpirun started: N `trainyard train` processes given the rendezvous
// contract (TRAINYARD_RANK, TRAINYARD_WORLD_SIZE, TRAINYARD_RENDEZVOUS) find each other
// through the TCP store rank 0 hosts, talk over UCX, and train like one rank with the
// same global batch.
#include <unistd.h>

#include <cmath>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class Rendezvous : public TempDirTest {
 protected:
  // SGD with momentum, as the mpirun tests (its update is linear in the gradient).
  const std::string job_ = std::string(TRAINYARD_SOURCE_DIR) +
                           "/examples/fashion_mnist_mlp.yaml --set train.max_steps=30 --set log.every_steps=1 "
                           "--set data.batch_size=96 --set data.train_subset=20000 --set validation.fraction=0 "
                           "--set data.test= --set runtime.threads=1 --set comm.bucket_mb=0.2 "
                           "--set optimizer.name=sgd --set optimizer.lr=0.05 --set optimizer.momentum=0.9 ";
  // `n` ranks in the background but rank 0, which runs in front; all share `dir`.
  std::string ranks(int n, const std::string& dir) const {
    const std::string env = "TRAINYARD_WORLD_SIZE=" + std::to_string(n) + " TRAINYARD_RENDEZVOUS=tcp://127.0.0.1:" +
                            std::to_string(10000 + ::getpid() % 11000) + " TRAINYARD_JOB_ID=t ";  // not ephemeral
    std::string cmd;
    for (int r = n - 1; r >= 1; --r)
      cmd += "env " + env + "TRAINYARD_RANK=" + std::to_string(r) + " " + TRAINYARD_BINARY + " train " + job_ +
             "--run-dir " + dir + " > " + dir + ".rank" + std::to_string(r) + ".log 2>&1 & ";
    return cmd + "env " + env + "TRAINYARD_RANK=0 " + TRAINYARD_BINARY + " train " + job_ + "--run-dir " + dir +
           "; code=$?; wait; exit $code";
  }
};

TEST_F(Rendezvous, RanksStartedWithoutMpirunTrainOverUcxLikeOneRank) {
  ShellResult one = run_shell(std::string(TRAINYARD_BINARY) + " train " + job_ + "--run-dir " + path("one"), 300);
  ASSERT_EQ(one.code, 0) << one.output;
  const std::vector<double> want = train_losses(path("one") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 30u);
  ShellResult two = run_shell(ranks(2, path("two")), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("2 rank(s) x 1 threads, ucx ("), std::string::npos) << two.output;  // its transports
  const std::vector<double> got = train_losses(path("two") + "/metrics.jsonl");
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * std::fabs(want[i])) << "step " << i + 1;
}

TEST_F(Rendezvous, ABadContractIsTheUsersErrorNamingTheVariable) {
  ShellResult r = run_shell("env TRAINYARD_RANK=3 TRAINYARD_WORLD_SIZE=2 TRAINYARD_RENDEZVOUS=tcp://127.0.0.1:1 " +
                                std::string(TRAINYARD_BINARY) + " train " + job_ + "--run-dir " + path("bad"),
                            60);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("TRAINYARD_RANK=3: expected a whole number from 0 to 1"), std::string::npos) << r.output;
  ShellResult mpi = run_shell("env TRAINYARD_RANK=0 TRAINYARD_WORLD_SIZE=2 TRAINYARD_RENDEZVOUS=tcp://127.0.0.1:1 " +
                                  std::string(TRAINYARD_BINARY) + " train " + job_ + "--set comm.backend=mpi --run-dir " +
                                  path("mpi"),
                              60);
  EXPECT_EQ(mpi.code, 2) << mpi.output;
  EXPECT_NE(mpi.output.find("comm.backend: mpi needs mpirun or srun"), std::string::npos) << mpi.output;
}

}  // namespace
}  // namespace ty
