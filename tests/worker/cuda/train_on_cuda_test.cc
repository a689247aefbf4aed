// The trainyard binary training on a CUDA device against the same run on the CPU: per-step
// losses and test accuracy, for the MLP and CNN examples and for the other losses and
// optimizers, on a small synthetic image set (written here as IDX files, so the check needs
// no dataset on the GPU machine). Skips without a CUDA device; tests/device/check.sh runs
// it on one.
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/device_probe.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

// n 28x28 images: noise plus a bright 7x7 block whose place is the label (0..9).
void write_idx(const std::string& images, const std::string& labels, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto be32 = [](std::ofstream& f, uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    f.write(b, 4);
  };
  std::ofstream fi(images, std::ios::binary), fl(labels, std::ios::binary);
  be32(fi, 0x00000803), be32(fi, n), be32(fi, 28), be32(fi, 28);
  be32(fl, 0x00000801), be32(fl, n);
  for (int i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng() % 10);
    const int r0 = (label / 4) * 7 + 2, c0 = (label % 4) * 7;
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) {
        int v = static_cast<int>(rng() % 96);
        if (r >= r0 && r < r0 + 7 && c >= c0 && c < c0 + 7) v += 140;
        fi.put(static_cast<char>(v));
      }
    fl.put(static_cast<char>(label));
  }
}

class CudaTraining : public TempDirTest {
 protected:
  void SetUp() override {
    auto gpu = cuda_device(0);
    if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message();
    TempDirTest::SetUp();
    write_idx(path("train-images-idx3-ubyte"), path("train-labels-idx1-ubyte"), 2048, 1);
    write_idx(path("t10k-images-idx3-ubyte"), path("t10k-labels-idx1-ubyte"), 512, 2);
  }

  // Trains `example` on `device` with `extra` settings; returns the run directory.
  std::string train(const std::string& example, const std::string& device, const std::string& extra) {
    const std::string run_dir = path(example + "-" + device + "-" + std::to_string(runs_++));
    const std::string cmd =
        std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR + "/examples/" + example +
        ".yaml --set data.train=" + path("train-images-idx3-ubyte") +
        " --set data.train_labels=" + path("train-labels-idx1-ubyte") +
        " --set data.test=" + path("t10k-images-idx3-ubyte") +
        " --set data.test_labels=" + path("t10k-labels-idx1-ubyte") +
        " --set data.format=idx --set validation.fraction=0 --set train.epochs=2 --set log.every_steps=1"
        " --set runtime.threads=4 --set runtime.device=" +
        device + " " + extra + " --run-dir " + run_dir;
    ShellResult r = run_shell(cmd, 300);
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.output;
    return run_dir;
  }

  // The GPU run's losses follow the CPU run's step by step (f32 both, TF32 off: the
  // kernels differ in summation order only), and the test accuracy is within a point.
  void expect_same_training(const std::string& example, const std::string& extra) {
    SCOPED_TRACE(example + " " + extra);
    const std::string cpu = train(example, "cpu", extra), gpu = train(example, "cuda", extra);
    const std::vector<double> a = train_losses(cpu + "/metrics.jsonl"), b = train_losses(gpu + "/metrics.jsonl");
    ASSERT_EQ(a.size(), b.size());
    ASSERT_GE(a.size(), 20u);
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(std::isfinite(b[i])) << "step " << i + 1;
      EXPECT_NEAR(b[i], a[i], 2e-3 * std::max(1.0, std::fabs(a[i]))) << "step " << i + 1;
    }
    const double acc_cpu = test_accuracy(cpu + "/metrics.jsonl"), acc_gpu = test_accuracy(gpu + "/metrics.jsonl");
    EXPECT_GT(acc_cpu, 0.5);
    EXPECT_NEAR(acc_gpu, acc_cpu, 0.01);
  }

  int runs_ = 0;
};

TEST_F(CudaTraining, MlpExampleMatchesTheCpu) { expect_same_training("fashion_mnist_mlp", ""); }

TEST_F(CudaTraining, CnnExampleWithDropoutMatchesTheCpu) { expect_same_training("fashion_mnist_cnn", ""); }

TEST_F(CudaTraining, SgdMomentumClippingAndOtherLossesMatchTheCpu) {
  expect_same_training("fashion_mnist_mlp",
                       "--set optimizer.name=sgd --set optimizer.lr=0.05 --set optimizer.momentum=0.9 "
                       "--set train.clip_grad_norm=0.5 --set train.label_smoothing=0.1");
  expect_same_training("fashion_mnist_mlp", "--set train.loss=mse --set optimizer.name=adamw");
}

// Mixed precision trains to the f32 run's accuracy: bf16, and fp16 with its loss scale.
TEST_F(CudaTraining, MixedPrecisionReachesTheF32Accuracy) {
  const std::string f32 = train("fashion_mnist_cnn", "cuda", "");
  const double want = test_accuracy(f32 + "/metrics.jsonl");
  EXPECT_GT(want, 0.5);
  for (const char* precision : {"bf16", "fp16"}) {
    SCOPED_TRACE(precision);
    const std::string run = train("fashion_mnist_cnn", "cuda", std::string("--set runtime.precision=") + precision);
    for (double loss : train_losses(run + "/metrics.jsonl")) EXPECT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(test_accuracy(run + "/metrics.jsonl"), want, 0.02);
  }
}

}  // namespace
}  // namespace ty
