// Language models end to end with the real binary on real text (the King James Bible that
// launch/setup.sh writes): LSTM, GRU and Transformer train from text tokenized at load and
// from token shards, resume exactly after a kill, end with a test record holding the
// perplexity, sample text, and `generate` repeats itself for a seed; bad specs exit 2
// naming the key.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

constexpr char kCorpus[] = "/usr/local/share/trainyard/kjv.txt";

double field(const std::string& line, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\"" + name + "\":([-0-9.eE+]+)"))) return -1;
  return std::stod(m[1]);
}

std::string last_line_of_kind(const std::string& path, const std::string& kind) {
  std::ifstream in(path);
  std::string found;
  for (std::string l; std::getline(in, l);)
    if (l.find("\"kind\":\"" + kind + "\"") != std::string::npos) found = l;
  return found;
}

class LanguageModels : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(std::filesystem::exists(kCorpus)) << kCorpus << " is missing: run launch/setup.sh";
    // The first 150 kB of the corpus: Genesis 1 to 7 or so.
    ASSERT_EQ(run_shell(std::string("head -c 150000 ") + kCorpus + " > " + text_, 30).code, 0);
  }
  // A small model of `kind` on the text, tokenized at load; `extra`: more --set flags.
  std::string job(const std::string& model, const std::string& extra = "") const {
    return std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR + "/examples/kjv_char_lstm.yaml " +
           "--set data.train=" + text_ + " --set data.seq_len=32 --set data.batch_size=16 --set runtime.threads=1 " +
           "--set log.every_steps=1 --set schedule.warmup_steps=2 --set sample.tokens=40 " + model + " " + extra + " ";
  }
  const std::string text_ = path("genesis.txt");
  const std::string lstm_ = "--set model.hidden_size=32 --set model.num_layers=1 --set train.max_steps=24 ";
  const std::string transformer_ =
      "--set model.kind=transformer --set model.num_layers=2 --set model.heads=2 --set model.d_model=32 "
      "--set model.context=32 --set model.tie_embeddings=true --set model.dropout=0.1 --set train.max_steps=30 ";
};

TEST_F(LanguageModels, LstmEndsWithPerplexityAndASampleAndResumesExactlyAfterAKill) {
  const std::string straight = job(lstm_, "--set checkpoint.every_steps=5") + "--run-dir " + path("straight");
  ShellResult r = run_shell(straight, 300);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto want = losses_by_step(path("straight") + "/metrics.jsonl");
  ASSERT_EQ(want.size(), 24u);
  const std::string test = last_line_of_kind(path("straight") + "/metrics.jsonl", "eval");
  ASSERT_NE(test.find("\"split\":\"test\""), std::string::npos) << test;
  EXPECT_NEAR(field(test, "perplexity"), std::exp(field(test, "loss")), 1e-6 * field(test, "perplexity")) << test;
  EXPECT_GT(field(test, "tokens"), 1000) << test;
  EXPECT_NE(r.output.find("test: loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sample (40 tokens"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("And God said"), std::string::npos) << r.output;
  const std::string epoch = last_line_of_kind(path("straight") + "/metrics.jsonl", "epoch");
  EXPECT_GT(field(epoch, "tokens_per_s"), 0) << epoch;
  // Killed after step 13 (dropout masks and the data order must continue), then resumed.
  const std::string killed = job(lstm_, "--set checkpoint.every_steps=5") + "--run-dir " + path("killed");
  ShellResult k = run_shell("env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=13 " + killed, 300);
  EXPECT_EQ(k.code, 137) << k.output;
  ShellResult resumed = run_shell(killed, 300);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_EQ(losses_by_step(path("killed") + "/metrics.jsonl"), want);  // to the last bit
}

TEST_F(LanguageModels, TransformerAndGruLearnAndGenerateRepeatsForASeed) {
  ShellResult r = run_shell(job(transformer_) + "--run-dir " + path("tf"), 300);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto losses = losses_by_step(path("tf") + "/metrics.jsonl");
  ASSERT_EQ(losses.size(), 30u);
  EXPECT_LT(losses.at(30), losses.at(1) - 1.0) << "from " << losses.at(1) << " to " << losses.at(30);
  const std::string gen = std::string(TRAINYARD_BINARY) + " generate " + TRAINYARD_SOURCE_DIR +
                          "/examples/kjv_char_lstm.yaml --set data.train=" + text_ + " --set data.seq_len=32 " +
                          transformer_ + " --weights " + path("tf") +
                          "/weights.bin --prompt 'In the beginning' --tokens 50 ";
  ShellResult a = run_shell(gen + "--seed 7 2>/dev/null", 120), b = run_shell(gen + "--seed 7 2>/dev/null", 120);
  ShellResult c = run_shell(gen + "--seed 8 2>/dev/null", 120);
  ASSERT_EQ(a.code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  EXPECT_NE(a.output, c.output);
  EXPECT_EQ(a.output.rfind("In the beginning", 0), 0u) << a.output;  // only the text on stdout
  EXPECT_EQ(a.output.size(), std::string("In the beginning").size() + 50 + 1) << a.output;
  ShellResult greedy = run_shell(gen + "--temperature 0 2>/dev/null", 120);
  ShellResult top1 = run_shell(gen + "--top-k 1 --seed 3 2>/dev/null", 120);
  EXPECT_EQ(greedy.output, top1.output);
  ShellResult gru = run_shell(
      job("--set model.cell=gru --set model.hidden_size=32 --set train.max_steps=10") + "--run-dir " + path("gru"),
      300);
  ASSERT_EQ(gru.code, 0) << gru.output;
  EXPECT_NE(gru.output.find("gru 32 -> 32"), std::string::npos) << gru.output;
}

// Token shards (data import text) stream into a 2-rank data-parallel run with data.val.
TEST_F(LanguageModels, TokenShardsTrainDataParallelWithAValidationSet) {
  ShellResult imp = run_shell(std::string(TRAINYARD_BINARY) + " data import text --file " + text_ + " --out " +
                                  path("g") + " --seq-len 32 --val-fraction 0.05 --test-fraction 0.05",
                              120);
  ASSERT_EQ(imp.code, 0) << imp.output;
  const std::string shards = "--set data.train='" + path("g") + "-train-*' --set data.val='" + path("g") +
                             "-val-*' --set data.test='" + path("g") + "-test-*' ";
  const std::string base = std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
                           "/examples/kjv_char_transformer.yaml " + shards +
                           "--set data.seq_len=32 --set data.batch_size=16 --set runtime.threads=1 "
                           "--set log.every_steps=1 --set sample.tokens=0 --set train.epochs=1 "
                           "--set data.val_fraction=0 --set data.test_fraction=0 " +
                           transformer_ + "--set train.max_steps=0 --set data.train_subset=0 ";
  ShellResult two = run_shell(mpirun(2) + base + "--run-dir " + path("two"), 300);
  ASSERT_EQ(two.code, 0) << two.output;
  const std::string metrics = path("two") + "/metrics.jsonl";
  EXPECT_NE(last_line_of_kind(metrics, "eval").find("\"split\":\"test\""), std::string::npos);
  std::ifstream in(metrics);
  bool val = false;
  for (std::string l; std::getline(in, l);) val = val || l.find("\"split\":\"val\",\"epoch\"") != std::string::npos;
  EXPECT_TRUE(val) << "no val record in " << metrics;
}

TEST_F(LanguageModels, BadSpecsExitTwoNamingTheKey) {
  struct Case {
    std::string sets, want;
  } cases[] = {
      {transformer_ + "--set model.heads=3", "model.heads: 3 does not divide model.d_model 32"},
      {lstm_ + "--set data.test=x.txt", "data.test: with text data.train the held-out blocks come from the same file"},
      {lstm_ + "--set data.train=/usr/local/share/trainyard/none.txt", "run launch/setup.sh"},
      {lstm_ + "--set model.kind=mlp", "holds token records"},
      {lstm_ + "--set model.context=8 --set model.kind=transformer", "model.context: 8 positions"},
      {lstm_ + "--set data.val_fraction=0.6 --set data.test_fraction=0.5", "leave no training text"},
  };
  for (const Case& c : cases) {
    ShellResult r = run_shell(job(c.sets) + "--run-dir " + path("bad"), 120);
    EXPECT_EQ(r.code, 2) << c.sets << "\n" << r.output;
    EXPECT_NE(r.output.find(c.want), std::string::npos) << c.sets << "\n" << r.output;
  }
  ShellResult idx = run_shell(std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
                                  "/examples/fashion_mnist_mlp.yaml --set model.kind=rnn --set train.max_steps=1 "
                                  "--run-dir " +
                                  path("idx"),
                              120);
  EXPECT_EQ(idx.code, 2) << idx.output;
  EXPECT_NE(idx.output.find("model.kind: rnn needs token records"), std::string::npos) << idx.output;
}

}  // namespace
}  // namespace ty
