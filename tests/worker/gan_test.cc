// GANs end to end with the real binary on Fashion-MNIST (a 512-image subset): sample grids
// during and after training, the FID record (the run training its own classifier), `trainyard
// sample` redrawing the run's last grid and `trainyard fid` its score, an exact resume after a
// SIGKILL, data parallel under mpirun with each network's gradients bucketed apart, and specs
// that cannot train refused with exit 2.
#include <filesystem>
#include <fstream>
#include <regex>

#include "gtest/gtest.h"
#include "storage/png_grid.h"
#include "tests/support/metrics_lines.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class GanJob : public TempDirTest {
 protected:
  std::string job(const std::string& extra) const {
    return std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
           "/examples/fashion_mnist_dcgan.yaml --set data.train_subset=512 --set data.batch_size=32"
           " --set model.channels=8 --set model.latent=16 --set train.max_steps=8 --set train.epochs=1"
           " --set gan.sample_every_steps=4 --set gan.fid_samples=300 --set runtime.threads=1"
           " --set log.every_steps=1 " +
           extra + " ";
  }
};

TEST_F(GanJob, TrainsDrawsScoresAndResumesExactly) {
  const std::string dir = path("run");
  ShellResult r = run_shell(job("--run-dir " + dir), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string metrics = dir + "/metrics.jsonl";
  const auto train = lines_of_kind(metrics, "train");
  ASSERT_EQ(train.size(), 8u) << r.output;
  EXPECT_NE(train[0].find("\"d_loss\":"), std::string::npos) << train[0];
  const auto samples = lines_of_kind(metrics, "samples");
  ASSERT_EQ(samples.size(), 2u) << r.output;  // steps 4 and 8 (the last)
  EXPECT_NE(samples[1].find("\"path\":\"samples/step-0000000008.png\""), std::string::npos) << samples[1];
  for (const char* grid : {"/samples/step-0000000004.png", "/samples/step-0000000008.png"}) {
    auto png = read_png(dir + grid);
    ASSERT_TRUE(png.ok()) << png.status();
    EXPECT_EQ(png->width, 8 * 30 + 2);  // 64 images of 28 + 2, 8 to a row
    EXPECT_EQ(png->height, 8 * 30 + 2);
  }
  ASSERT_TRUE(std::filesystem::exists(dir + "/fid_classifier/weights.bin")) << r.output;
  const auto eval = lines_of_kind(metrics, "eval");
  ASSERT_EQ(eval.size(), 1u) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(eval[0], m, std::regex("\"fid\":([0-9.e+-]+),\"fid_floor\":([0-9.e+-]+)"))) << eval[0];
  const double fid = std::stod(m[1]), floor = std::stod(m[2]);
  EXPECT_GT(fid, floor) << "8 steps of training do not draw Fashion-MNIST";
  EXPECT_GT(floor, 0.0);

  // `sample` with the final weights redraws the run's last grid; `fid` gives its score.
  ShellResult s = run_shell(std::string(TRAINYARD_BINARY) + " sample " + TRAINYARD_SOURCE_DIR +
                                "/examples/fashion_mnist_dcgan.yaml --set model.channels=8 --set model.latent=16"
                                " --weights " + dir + "/weights.bin --out " + path("again.png"),
                            120);
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_EQ(file_bytes(path("again.png")), file_bytes(dir + "/samples/step-0000000008.png"));
  ShellResult f = run_shell(std::string(TRAINYARD_BINARY) + " fid " + TRAINYARD_SOURCE_DIR +
                                "/examples/fashion_mnist_dcgan.yaml --set model.channels=8 --set model.latent=16"
                                " --set gan.fid_samples=300 --set data.train_subset=512 --weights " + dir + "/weights.bin",
                            300);
  ASSERT_EQ(f.code, 0) << f.output;
  ASSERT_TRUE(std::regex_search(f.output, m, std::regex("FID ([0-9.]+) \\(300 images; floor ([0-9.]+)\\)"))) << f.output;
  EXPECT_NEAR(std::stod(m[1]), fid, 1e-3 * fid);
  EXPECT_NEAR(std::stod(m[2]), floor, 1e-3 * floor);

  // Killed after step 6 (a checkpoint at 4), then resumed: the same losses and weights.
  const std::string killed = job("--set checkpoint.every_steps=4 --set gan.fid_samples=300 --run-dir " + path("killed") +
                                 " --set gan.fid_classifier=" + dir + "/fid_classifier/weights.bin");
  ShellResult k = run_shell("env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=6 " + killed, 300);
  ASSERT_NE(k.code, 0) << k.output;
  ShellResult resumed = run_shell(killed, 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_EQ(file_bytes(path("killed") + "/weights.bin"), file_bytes(dir + "/weights.bin"));
  const auto again = lines_of_kind(path("killed") + "/metrics.jsonl", "train");
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again.back(), train.back());
}

TEST_F(GanJob, DataParallelBucketsEachNetworkApart) {
  ShellResult r = run_shell(mpirun(2) + job("--set gan.fid_classifier= --set data.test= --run-dir " + path("dp")), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("gradient buckets in 2 groups"), std::string::npos) << r.output;
  EXPECT_EQ(lines_of_kind(path("dp") + "/metrics.jsonl", "train").size(), 8u);
}

TEST_F(GanJob, SpecsThatCannotTrainAreRefused) {
  for (const auto& [set, want] : std::vector<std::pair<std::string, std::string>>{
           {"--set data.normalize=none", "data.normalize: a GAN's generator gives tanh's [-1, 1]"},
           {"--set train.accumulate_steps=2", "train.accumulate_steps: a GAN's step is train.d_steps"},
           {"--set model.kind=cnn", "model.generator: only used with model.kind: gan"},
       }) {
    ShellResult r = run_shell(job(set + " --run-dir " + path("bad")), 60);
    EXPECT_EQ(r.code, 2) << set << "\n" << r.output;
    EXPECT_NE(r.output.find(want), std::string::npos) << set << "\n" << r.output;
  }
  ShellResult e = run_shell(std::string(TRAINYARD_BINARY) + " eval " + TRAINYARD_SOURCE_DIR +
                                "/examples/fashion_mnist_dcgan.yaml --weights " + path("none.bin"),
                            60);
  EXPECT_EQ(e.code, 2) << e.output;
  EXPECT_NE(e.output.find("is a GAN, which has no test loss; score it with `trainyard fid`"), std::string::npos)
      << e.output;
}

}  // namespace
}  // namespace ty
