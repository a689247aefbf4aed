// Translation end to end with the real binary on the Bible pairs launch/setup.sh writes:
// `data import parallel`, a small seq2seq model trained with validation BLEU each epoch and
// test BLEU and chrF (beam) at the end, resumed exactly after a kill, `trainyard translate`
// on a file and `trainyard bleu` on its output; bad specs exit 2 naming what to do.
#include <filesystem>
#include <fstream>
#include <regex>

#include "gtest/gtest.h"
#include "tests/support/metrics_lines.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

constexpr char kCorpus[] = "/usr/local/share/trainyard/bible-en-es";

double field(const std::string& line, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex("\"" + name + "\":([-0-9.eE+]+)"))) return -1;
  return std::stod(m[1]);
}

class Seq2seqJob : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    ASSERT_TRUE(std::filesystem::exists(std::string(kCorpus) + "/test.es")) << kCorpus << " is missing: run launch/setup.sh";
    // 1,200 training pairs and 40 test pairs, as Spanish -> English.
    for (const char* side : {"es", "en"}) {
      ASSERT_EQ(run_shell(std::string("head -n 1200 ") + kCorpus + "/train." + side + " > " + path(std::string("train.") + side), 30).code, 0);
      ASSERT_EQ(run_shell(std::string("head -n 40 ") + kCorpus + "/test." + side + " > " + path(std::string("test.") + side), 30).code, 0);
    }
    const ShellResult r = run_shell(std::string(TRAINYARD_BINARY) + " data import parallel --source " + path("train.es") +
                                        " --target " + path("train.en") + " --test-source " + path("test.es") +
                                        " --test-target " + path("test.en") +
                                        " --val-fraction 0.05 --vocab-size 300 --max-len 48 --out " + path("p"),
                                    120);
    ASSERT_EQ(r.code, 0) << r.output;
  }
  std::string job(const std::string& extra) const {
    return std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
           "/examples/bible_es_en_transformer.yaml --set data.train=" + path("p-train-*") +
           " --set data.val=" + path("p-val-*") + " --set data.test=" + path("p-test-*") +
           " --set model.encoder_layers=1 --set model.decoder_layers=1 --set model.d_model=32 --set model.d_ff=64"
           " --set data.batch_size=16 --set train.max_steps=20 --set train.epochs=1 --set schedule.warmup_steps=5"
           " --set runtime.threads=1 --set log.every_steps=1 --set eval.beam_size=2 " +
           extra + " ";
  }
};

TEST_F(Seq2seqJob, TrainsReportsBleuResumesAndTranslates) {
  ShellResult r = run_shell(job("--set checkpoint.every_steps=5 --run-dir " + path("straight")), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string metrics = path("straight") + "/metrics.jsonl";
  const auto evals = lines_of_kind(metrics, "eval");
  ASSERT_EQ(evals.size(), 2u) << r.output;
  EXPECT_NE(evals[0].find("\"split\":\"val\""), std::string::npos) << evals[0];
  EXPECT_EQ(field(evals[0], "beam"), 1) << evals[0];
  EXPECT_GE(field(evals[0], "bleu"), 0) << evals[0];
  EXPECT_NE(evals[1].find("\"split\":\"test\""), std::string::npos) << evals[1];
  EXPECT_EQ(field(evals[1], "beam"), 2) << evals[1];
  EXPECT_GE(field(evals[1], "chrf"), 0) << evals[1];
  EXPECT_GT(field(evals[1], "accuracy"), 0) << evals[1];
  EXPECT_NE(r.output.find("test: BLEU = "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(beam 2, "), std::string::npos) << r.output;

  // Killed after step 12, resumed: the same losses to the last bit.
  const std::string killed = job("--set checkpoint.every_steps=5 --run-dir " + path("killed"));
  ShellResult k = run_shell("env TRAINYARD_FAULT_KILL_RANK=0 TRAINYARD_FAULT_KILL_STEP=12 " + killed, 600);
  EXPECT_EQ(k.code, 137) << k.output;
  ShellResult resumed = run_shell(killed, 600);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming from"), std::string::npos) << resumed.output;
  EXPECT_EQ(train_losses_by_step(path("killed") + "/metrics.jsonl"), train_losses_by_step(metrics));

  // translate: one line out per line in (the empty one stays empty), only text on stdout.
  write("in.es", "En el principio crió Dios los cielos y la tierra.\n\nY dijo Dios: Sea la luz: y fué la luz.\n");
  const std::string translate = std::string(TRAINYARD_BINARY) + " translate " + TRAINYARD_SOURCE_DIR +
                                "/examples/bible_es_en_transformer.yaml --set data.train=" + path("p-train-*") +
                                " --set data.val= --set data.test= --set model.encoder_layers=1 --set model.decoder_layers=1 --set model.d_model=32"
                                " --set model.d_ff=64 --set runtime.threads=1 --weights " + path("straight") +
                                "/weights.bin --input " + path("in.es") + " --beam 3";
  ShellResult t = run_shell(translate + " > " + path("out.en") + " 2> " + path("err.txt"), 120);
  ASSERT_EQ(t.code, 0) << t.output << run_shell("cat " + path("err.txt"), 5).output;
  std::ifstream out(path("out.en"));
  std::vector<std::string> lines;
  for (std::string l; std::getline(out, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "");
  EXPECT_NE(run_shell("cat " + path("err.txt"), 5).output.find("3 lines, beam 3"), std::string::npos);
  // ... which `trainyard bleu` scores against references.
  write("ref.en", "In the beginning God created the heaven and the earth.\n\nAnd God said, Let there be light: and there was light.\n");
  write("ref2.en", "x\nAnd the earth was without form\ny\n");
  ShellResult b = run_shell(std::string(TRAINYARD_BINARY) + " bleu " + path("out.en") + " " + path("ref.en") + " " +
                                path("ref2.en"),
                            30);
  EXPECT_EQ(b.code, 0) << b.output;
  EXPECT_EQ(b.output.rfind("BLEU = ", 0), 0u) << b.output;
}

TEST_F(Seq2seqJob, AttentionalRnnTrainsAndReportsBleu) {
  const std::string rnn = std::string(TRAINYARD_BINARY) + " train " + TRAINYARD_SOURCE_DIR +
                          "/examples/bible_es_en_rnn.yaml --set data.train=" + path("p-train-*") +
                          " --set data.val=" + path("p-val-*") + " --set data.test=" + path("p-test-*") +
                          " --set model.hidden_size=24 --set model.embed=16 --set data.batch_size=16"
                          " --set train.max_steps=12 --set train.epochs=1 --set runtime.threads=1"
                          " --set log.every_steps=1 --set eval.beam_size=3 --run-dir " +
                          path("rnn");
  ShellResult r = run_shell(rnn, 600);
  ASSERT_EQ(r.code, 0) << r.output;
  const auto evals = lines_of_kind(path("rnn") + "/metrics.jsonl", "eval");
  ASSERT_EQ(evals.size(), 2u) << r.output;
  EXPECT_EQ(field(evals[1], "beam"), 3) << evals[1];
  EXPECT_GE(field(evals[1], "bleu"), 0) << evals[1];
  const auto losses = train_losses_by_step(path("rnn") + "/metrics.jsonl");
  ASSERT_EQ(losses.size(), 12u);
  EXPECT_LT(losses.rbegin()->second, losses.begin()->second) << "the loss goes down";
  EXPECT_NE(r.output.find("bidirectional lstm"), std::string::npos) << r.output;
}

// A vocabulary per side: the model embeds each side from its own table, translates a file,
// and `model.embeddings: shared` is refused naming both sizes.
TEST_F(Seq2seqJob, SeparateVocabulariesTrainAndTranslate) {
  const ShellResult imported = run_shell(std::string(TRAINYARD_BINARY) + " data import parallel --source " +
                                             path("train.es") + " --target " + path("train.en") +
                                             " --test-fraction 0.05 --vocab-size 250 --separate-vocab --max-len 48"
                                             " --out " + path("s"),
                                         120);
  ASSERT_EQ(imported.code, 0) << imported.output;
  const std::string sep = job("--set data.train=" + path("s-train-*") + " --set data.val= --set data.test=" +
                              path("s-test-*"));
  ShellResult r = run_shell(sep + "--run-dir " + path("sep"), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("source embedding 250 -> 32"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("target embedding 250 -> 32"), std::string::npos) << r.output;
  const auto evals = lines_of_kind(path("sep") + "/metrics.jsonl", "eval");
  ASSERT_EQ(evals.size(), 1u) << r.output;
  EXPECT_GE(field(evals[0], "bleu"), 0) << evals[0];
  ASSERT_EQ(run_shell("head -n 5 " + path("test.es") + " > " + path("five.es"), 10).code, 0);
  r = run_shell(std::string(TRAINYARD_BINARY) + " translate " + path("sep") + "/job.yaml --weights " + path("sep") +
                    "/weights.bin --input " + path("five.es") + " > " + path("five.en"),
                120);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(run_shell("wc -l < " + path("five.en"), 10).output, "5\n");
  r = run_shell(sep + "--set model.embeddings=shared --run-dir " + path("shared"), 120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("a vocabulary per side (source 250 pieces, target 250)"), std::string::npos) << r.output;
  // A test split from the joint import: its sources are in another vocabulary.
  r = run_shell(sep + "--set data.test=" + path("p-test-*") + " --run-dir " + path("mixed"), 120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("import the splits together"), std::string::npos) << r.output;
}

TEST_F(Seq2seqJob, BadSpecsExitTwo) {
  // Text records (one language) are not pairs.
  write("text.txt", std::string(4000, 'a'));
  ShellResult r = run_shell(job("--set data.train=" + path("text.txt") + " --set data.val= --set data.test= --run-dir " +
                                path("text")),
                            120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("data import parallel"), std::string::npos) << r.output;
  // A language model's SentencePiece token records are not pairs either.
  ASSERT_EQ(run_shell("head -c 60000 /usr/local/share/trainyard/kjv.txt > " + path("kjv.txt"), 10).code, 0);
  ShellResult lm = run_shell(std::string(TRAINYARD_BINARY) + " data import text --file " + path("kjv.txt") +
                                 " --tokens sentencepiece --vocab-size 300 --seq-len 32 --out " + path("lm"),
                             120);
  ASSERT_EQ(lm.code, 0) << lm.output;
  r = run_shell(job("--set data.train=" + path("lm-*") + " --set data.val= --set data.test= --run-dir " + path("lm_run")),
                120);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("without </s>, not token pairs"), std::string::npos) << r.output;
  r = run_shell(job("--set parallel.pipeline.stages=2 --run-dir " + path("pipe")), 60);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("model.kind: seq2seq not with parallel.pipeline.stages > 1"), std::string::npos) << r.output;
  r = run_shell(std::string(TRAINYARD_BINARY) + " translate " + TRAINYARD_SOURCE_DIR +
                    "/examples/kjv_char_lstm.yaml --weights " + path("none.bin"),
                60);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("translate needs seq2seq"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
