// End to end: the real `trainyard` binary on real Fashion-MNIST data (Debian's
// dataset-fashion-mnist), its outputs, and its exit codes for bad specs.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

using Result = ShellResult;

// Runs the trainyard binary with `args` (shell syntax), bounded by `timeout` seconds.
Result run(const std::string& args, int timeout = 300) { return run_shell(TRAINYARD_BINARY " " + args, timeout); }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text, const std::string& kind) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.find("\"kind\":\"" + kind + "\"") != std::string::npos) out.push_back(l);
  return out;
}

double field(const std::string& line, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\"" + name + "\":([-0-9.eE+]+)"))) return -1;
  return std::stod(m[1]);
}

class TrainCli : public TempDirTest {
 protected:
  const std::string mlp_ = std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_mlp.yaml";
};

TEST_F(TrainCli, MlpOneEpochOnTenThousandSamplesReachesSeventyFivePercent) {
  const std::string run_dir = path("mlp");
  Result r = run("train " + mlp_ +
                 " --set train.epochs=1 --set data.train_subset=10000 --set runtime.threads=1 --run-dir " + run_dir);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string metrics = read(run_dir + "/metrics.jsonl");
  auto test = lines_of(metrics, "eval");
  ASSERT_EQ(test.size(), 2u) << metrics;  // val and test
  EXPECT_NE(test[0].find("\"split\":\"val\""), std::string::npos);
  ASSERT_NE(test[1].find("\"split\":\"test\""), std::string::npos);
  EXPECT_NE(test[1].find("\"confusion\":[["), std::string::npos);
  const double accuracy = field(test[1], "accuracy");
  EXPECT_GE(accuracy, 0.75) << test[1];
  EXPECT_EQ(lines_of(metrics, "epoch").size(), 1u);
  EXPECT_GT(field(lines_of(metrics, "epoch")[0], "samples_per_s"), 0);
  EXPECT_EQ(lines_of(metrics, "train").size(), 2u);  // 71 steps of 128 from 9000: step 50 and the last
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/weights.bin"));
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/job.yaml"));

  // eval on the saved weights gives the same test accuracy.
  Result e = run("eval " + mlp_ + " --set runtime.threads=1 --weights " + run_dir + "/weights.bin");
  ASSERT_EQ(e.code, 0) << e.output;
  auto again = lines_of(read(run_dir + "/eval.jsonl"), "eval");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_DOUBLE_EQ(field(again[0], "accuracy"), accuracy);
  EXPECT_NE(e.output.find("confusion (rows = true class)"), std::string::npos);

  // Weights trained without standardization cannot be evaluated as if they had it.
  const std::string plain = path("plain");
  ASSERT_EQ(run("train " + mlp_ + " --set train.max_steps=2 --set data.normalize=none --run-dir " + plain).code, 0);
  Result mismatch = run("eval " + mlp_ + " --weights " + plain + "/weights.bin");
  EXPECT_EQ(mismatch.code, 2);
  EXPECT_NE(mismatch.output.find("has no input.mean/input.std"), std::string::npos) << mismatch.output;
}

TEST_F(TrainCli, SameSeedSameLossesToTheLastDigit) {
  const std::string common = mlp_ +
                             " --set train.max_steps=30 --set log.every_steps=5 --set model.dropout=0.2 "
                             "--set runtime.threads=1 --set data.test=\"\" --set validation.fraction=0 --run-dir ";
  ASSERT_EQ(run("train " + common + path("a")).code, 0);
  ASSERT_EQ(run("train " + common + path("b")).code, 0);
  auto a = lines_of(read(path("a") + "/metrics.jsonl"), "train"),
       b = lines_of(read(path("b") + "/metrics.jsonl"), "train");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);
  ASSERT_EQ(run("train " + common + path("c") + " --set train.seed=2").code, 0);
  EXPECT_NE(a, lines_of(read(path("c") + "/metrics.jsonl"), "train"));
}

TEST_F(TrainCli, CnnTrainsAFewStepsAndCsvRegressionWorks) {
  const std::string cnn = std::string(TRAINYARD_SOURCE_DIR) + "/examples/fashion_mnist_cnn.yaml";
  Result r =
      run("train " + cnn + " --set train.max_steps=20 --set data.train_subset=3000 --set runtime.threads=1 --run-dir " +
          path("cnn"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(lines_of(read(path("cnn") + "/metrics.jsonl"), "eval").size(), 2u);

  std::ofstream csv(path("reg.csv"));
  csv << "x1,x2,y\n";
  for (int i = 0; i < 200; ++i)
    csv << (i % 10) * 0.1 << "," << (i % 7) * 0.2 << "," << 2 * (i % 10) * 0.1 - (i % 7) * 0.2 << "\n";
  csv.close();
  std::ofstream spec(path("reg.yaml"));
  spec << "model: {kind: mlp, hidden: [16], activation: tanh}\n"
       << "data: {train: " << path("reg.csv") << ", test: " << path("reg.csv")
       << ", target: y, task: regression, batch_size: 20}\n"
       << "optimizer: {name: sgd, lr: 0.1, momentum: 0.9}\ntrain: {epochs: 30}\nlog: {every_steps: 1000}\n";
  spec.close();
  Result reg = run("train " + path("reg.yaml") + " --run-dir " + path("reg"));
  ASSERT_EQ(reg.code, 0) << reg.output;
  auto evals = lines_of(read(path("reg") + "/metrics.jsonl"), "eval");
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_LT(field(evals[0], "mse"), 0.05) << evals[0];
}

TEST_F(TrainCli, BadSpecsFailBeforeTrainingNamingTheProblem) {
  struct Case {
    std::string args, want;
  } cases[] = {
      {mlp_ + " --set optimizer.lr=fast", "optimizer.lr: expected a number, got 'fast'"},
      {mlp_ + " --set model.widht=3", "unknown key 'model.widht'"},
      {mlp_ + " --set data.train=/nonexistent/train-images-idx3-ubyte.gz",
       "data.train: /nonexistent/train-images-idx3-ubyte.gz: cannot open"},
      {mlp_ + " --set data.test=/nonexistent/t.csv", "data.test: /nonexistent/t.csv: cannot open"},
      {mlp_ + " --set model.kind=cnn --set 'model.conv=[{channels: 8, kernel: 40, padding: 0}]'",
       "model.conv[0]: kernel 40 does not fit input (1, 28, 28)"},
      {"/nonexistent.yaml", "/nonexistent.yaml: cannot open"},
      {mlp_ + " --bogus", "unknown option --bogus"},
  };
  for (const Case& c : cases) {
    Result r = run("train " + c.args + " --run-dir " + path("bad"), 60);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(std::filesystem::exists(path("bad"))) << "a bad spec created the run dir: " << c.args;
  }
  Result e = run("eval " + mlp_, 60);
  EXPECT_EQ(e.code, 2);
  EXPECT_NE(e.output.find("missing --weights"), std::string::npos);
  EXPECT_EQ(run("frobnicate", 60).code, 2);
  EXPECT_EQ(run("help", 60).code, 0);
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

// runtime.device: cuda is checked before training: without a device (CI, the development
// machine) it stops with exit 2 saying so; with one, it trains.
TEST_F(TrainCli, CudaDeviceIsCheckedBeforeTraining) {
  Result r = run("train " + mlp_ +
                 " --set runtime.device=cuda --set train.max_steps=1 --set data.train_subset=512 "
                 "--set data.test= --run-dir " +
                 path("cuda"));
  if (r.output.find("runtime.device: cuda: no CUDA device") != std::string::npos) {
    EXPECT_EQ(r.code, 2) << r.output;
  } else {
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("rank(s) x cuda:0"), std::string::npos) << r.output;  // it trained on the GPU
  }
}

// Mixed precision needs a GPU: on the CPU it is refused before training, naming the key.
TEST_F(TrainCli, MixedPrecisionOnTheCpuIsRefused) {
  Result r = run("train " + mlp_ + " --set runtime.precision=bf16 --set train.max_steps=1 --run-dir " + path("bf16"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("runtime.precision: bf16 runs on CUDA devices only"), std::string::npos) << r.output;
}

TEST_F(TrainCli, ImportInspectAndTrainFromShardsLikeFromIdx) {
  const std::string data = "/usr/share/datasets/fashion-mnist/";
  Result imp = run("data import idx --images " + data + "train-images-idx3-ubyte.gz --labels " + data +
                   "train-labels-idx1-ubyte.gz --out " + path("fm") + " --shard-mb 20");
  ASSERT_EQ(imp.code, 0) << imp.output;
  EXPECT_NE(imp.output.find("wrote 3 shard(s), 60000 records"), std::string::npos) << imp.output;
  Result ins = run("data inspect '" + path("fm") + "-*'");
  ASSERT_EQ(ins.code, 0) << ins.output;
  EXPECT_NE(ins.output.find("{x: u8 (1, 28, 28), y: i32 ()}, checksums ok"), std::string::npos) << ins.output;
  EXPECT_NE(ins.output.find("total: 60000 records"), std::string::npos) << ins.output;

  const std::string common = "train " + mlp_ +
                             " --set train.max_steps=20 --set log.every_steps=5 --set validation.fraction=0 "
                             "--set data.test= --set runtime.threads=1 ";
  ASSERT_EQ(run(common + "--run-dir " + path("idx")).code, 0);
  // Read into memory, shards give the IDX run's batches exactly.
  Result mem =
      run(common + "--set 'data.train=" + path("fm") + "-*' --set storage.loader=memory --run-dir " + path("mem"));
  ASSERT_EQ(mem.code, 0) << mem.output;
  EXPECT_EQ(lines_of(read(path("mem") + "/metrics.jsonl"), "train"),
            lines_of(read(path("idx") + "/metrics.jsonl"), "train"));
  // Streamed (the default): the same losses whatever the reader threads, prefetch budget
  // or I/O path, since none of them is part of the data order.
  Result sh = run(common + "--set 'data.train=" + path("fm") + "-*' --run-dir " + path("shards"));
  ASSERT_EQ(sh.code, 0) << sh.output;
  EXPECT_NE(sh.output.find("streamed"), std::string::npos) << sh.output;
  const auto streamed = lines_of(read(path("shards") + "/metrics.jsonl"), "train");
  ASSERT_EQ(streamed.size(), 4u);
  Result sh2 = run(common + "--set 'data.train=" + path("fm") +
                   "-*' --set storage.reader_threads=3 --set storage.prefetch_mb=1 "
                   "--set storage.direct_io=true --run-dir " +
                   path("shards2"));
  ASSERT_EQ(sh2.code, 0) << sh2.output;
  EXPECT_EQ(lines_of(read(path("shards2") + "/metrics.jsonl"), "train"), streamed);
  // GPUDirect Storage asked of a CPU rank: refused before training.
  Result cpu = run(common + "--set 'data.train=" + path("fm") + "-*' --set storage.gpu_direct=on --run-dir " +
                   path("gd"));
  EXPECT_EQ(cpu.code, 2) << cpu.output;
  EXPECT_NE(cpu.output.find("storage.gpu_direct: on reads shards into GPU memory, but this rank runs on the CPU"),
            std::string::npos)
      << cpu.output;
  EXPECT_EQ(cpu.output.find("step "), std::string::npos) << cpu.output;
  // A smaller shuffle window is another order.
  ASSERT_EQ(
      run(common + "--set 'data.train=" + path("fm") + "-*' --set storage.shuffle_window_mb=1 --run-dir " + path("w1"))
          .code,
      0);
  EXPECT_NE(lines_of(read(path("w1") + "/metrics.jsonl"), "train"), streamed);

  // A flipped byte: inspect and train both fail naming the file, the record and the offset.
  const std::string shard = path("fm") + "-00001.tyshard";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 792 * 10 + 100);
    f.put('\x7f');
  }
  const std::string where = shard + ": record 10 at byte offset " + std::to_string(4096 + 792 * 10);
  Result bad = run("data inspect '" + path("fm") + "-*'");
  EXPECT_EQ(bad.code, 2);  // the data's fault, as for train
  EXPECT_NE(bad.output.find(where), std::string::npos) << bad.output;
  // Found while reading the labels to count the classes: before training.
  Result t = run(common + "--set 'data.train=" + path("fm") + "-*' --run-dir " + path("bad"));
  EXPECT_EQ(t.code, 2);
  EXPECT_NE(t.output.find("data.train: " + shard + ": record 10"), std::string::npos) << t.output;
  // Found by the streaming loader: the run fails, as the data's fault.
  Result ts = run(common + "--set 'data.train=" + path("fm") +
                  "-*' --set data.num_classes=10 --set data.normalize=none --run-dir " + path("bad2"));
  EXPECT_EQ(ts.code, 2);
  EXPECT_NE(ts.output.find(where + " fails its CRC32C check"), std::string::npos) << ts.output;
  // Skipped, counted and logged, in memory and streamed.
  Result skip = run(common + "--set 'data.train=" + path("fm") +
                    "-*' --set storage.on_corrupt=skip --set storage.loader=memory --run-dir " + path("skip"));
  EXPECT_EQ(skip.code, 0) << skip.output;
  EXPECT_NE(skip.output.find("59999 records"), std::string::npos) << skip.output;
  EXPECT_NE(skip.output.find("1 corrupt records skipped"), std::string::npos) << skip.output;
  auto data_lines = lines_of(read(path("skip") + "/metrics.jsonl"), "data");
  ASSERT_FALSE(data_lines.empty());
  EXPECT_NE(data_lines[0].find(R"("split":"train","records":59999,"skipped_corrupt":1)"), std::string::npos)
      << data_lines[0];
  Result skip2 =
      run(common + "--set 'data.train=" + path("fm") +
          "-*' --set storage.on_corrupt=skip --set train.max_steps=0 --set train.epochs=1 --run-dir " + path("skip2"));
  EXPECT_EQ(skip2.code, 0) << skip2.output;
  EXPECT_NE(skip2.output.find(where + " fails its CRC32C check (corrupt data); skipped"), std::string::npos)
      << skip2.output;
  auto epoch_lines = lines_of(read(path("skip2") + "/metrics.jsonl"), "epoch");
  ASSERT_EQ(epoch_lines.size(), 1u);
  EXPECT_NE(epoch_lines[0].find(R"("skipped_corrupt":1,"refetched_ranges":)"), std::string::npos) << epoch_lines[0];
}

// A finished run run again does nothing and appends nothing; a run on no data is the
// user's error.
TEST_F(TrainCli, AFinishedRunIsNotRunAgainAndNoDataIsAnError) {
  const std::string job = mlp_ +
                          " --set train.max_steps=6 --set data.train_subset=2000 --set runtime.threads=1 "
                          "--set data.test= --run-dir " +
                          path("done");
  ASSERT_EQ(run("train " + job).code, 0);
  const std::string metrics = read(path("done") + "/metrics.jsonl");
  Result again = run("train " + job);
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("this run finished at step 6"), std::string::npos) << again.output;
  EXPECT_EQ(read(path("done") + "/metrics.jsonl"), metrics);
  Result empty = run("train " + mlp_ +
                     " --set data.train_subset=100 --set data.batch_size=128 --set data.remainder=drop "
                     "--set validation.fraction=0 --set data.test= --run-dir " +
                     path("empty"));
  EXPECT_EQ(empty.code, 2) << empty.output;
  EXPECT_NE(empty.output.find("100 samples make no batch of 128"), std::string::npos) << empty.output;
}

// Inputs that once aborted, ran out of memory or were silently taken: each a clear error
// of the right exit class.
TEST_F(TrainCli, OversizedModelsAndBadImportsExitWithTheirClass) {
  Result wide = run("train " + mlp_ + " --set 'model.hidden=[100000000]' --run-dir " + path("wide"));
  EXPECT_EQ(wide.code, 2) << wide.output;
  EXPECT_NE(wide.output.find("model.hidden[0]: expected an integer 1 to 16777216"), std::string::npos) << wide.output;
  Result huge = run("train " + mlp_ + " --set 'model.hidden=[16000000]' --run-dir " + path("huge"));
  EXPECT_EQ(huge.code, 4) << huge.output;  // out of memory
  // Estimated from the model's shapes before any parameter is allocated.
  EXPECT_NE(huge.output.find("training this model needs about 235.3 GiB per rank (parameters and gradients 94.8 GiB, "
                             "optimizer state 94.8 GiB, activations of a batch 45.8 GiB)"),
            std::string::npos)
      << huge.output;
  EXPECT_NE(huge.output.find("lower data.batch_size"), std::string::npos) << huge.output;
  EXPECT_FALSE(std::filesystem::exists(path("huge")));
  Result batch = run("train " + mlp_ + " --set data.batch_size=1048576 --set 'model.hidden=[4096,4096]' --run-dir " +
                     path("batch"));
  EXPECT_EQ(batch.code, 4) << batch.output;
  EXPECT_NE(batch.output.find("activations of a batch 192.1 GiB"), std::string::npos) << batch.output;
  Result classes = run("train " + mlp_ + " --set data.num_classes=5 --run-dir " + path("classes"));
  EXPECT_EQ(classes.code, 2) << classes.output;
  EXPECT_NE(classes.output.find("data.num_classes: 5, but the labels go up to 9"), std::string::npos) << classes.output;
  Result zeros = run("eval " + mlp_ + " --weights /dev/zero");
  EXPECT_EQ(zeros.code, 2) << zeros.output;

  const std::string csv = path("rows.csv");
  std::ofstream(csv) << "x,label\n1,0\n2,1\n";
  EXPECT_EQ(run("data import csv --file " + csv + " --out " + path("s")).code, 0);
  Result again = run("data import csv --file " + csv + " --out " + path("s"));
  EXPECT_EQ(again.code, 2) << again.output;
  EXPECT_NE(again.output.find("shards of that prefix exist already"), std::string::npos) << again.output;
  Result mb = run("data import csv --file " + csv + " --out " + path("t") + " --shard-mb 1e3");
  EXPECT_EQ(mb.code, 2) << mb.output;
  EXPECT_NE(mb.output.find("--shard-mb 1e3: expected a whole number"), std::string::npos) << mb.output;
  std::ofstream(path("none.csv")) << "x,label\n";
  Result none = run("data import csv --file " + path("none.csv") + " --out " + path("u"));
  EXPECT_EQ(none.code, 2) << none.output;
  std::ofstream(path("bad.csv")) << "x,label\n1,zz\n";
  EXPECT_EQ(run("data import csv --file " + path("bad.csv") + " --out " + path("v")).code, 2);
}

// The text examples' corpus (launch/kjv_corpus.sh, run by setup.sh), cut into held-out
// blocks: PREFIX-train-*, -val-*, -test-*, and a second import onto them refused.
TEST_F(TrainCli, TheKjvCorpusImportsWithHeldOutBlocks) {
  const std::string corpus = "/usr/local/share/trainyard/kjv.txt";
  std::ifstream in(corpus);
  ASSERT_TRUE(in) << corpus << " is missing: run launch/setup.sh";
  int64_t verses = 0;
  for (std::string l; std::getline(in, l);) ++verses;
  EXPECT_EQ(verses, 31102);
  const std::string import = "data import text --file " + corpus + " --out " + path("kjv") + " --seq-len 256";
  Result r = run(import + " --val-fraction 0.05 --test-fraction 0.05");
  ASSERT_EQ(r.code, 0) << r.output;
  for (const char* split : {"train", "val", "test"})
    EXPECT_NE(r.output.find(path("kjv") + "-" + split + "-"), std::string::npos) << split << "\n" << r.output;
  Result val = run("data inspect '" + path("kjv") + "-val-*'");
  ASSERT_EQ(val.code, 0) << val.output;
  Result again = run(import);
  EXPECT_EQ(again.code, 2) << again.output;
  EXPECT_NE(again.output.find("shards of that prefix exist already"), std::string::npos) << again.output;
  Result bad = run("data import text --file " + corpus + " --out " + path("other") + " --val-fraction 5%");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--val-fraction 5%: expected a fraction from 0 to below 1"), std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace ty
