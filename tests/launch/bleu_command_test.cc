// `trainyard bleu` end to end: the real binary on files, its line and its exit codes.
#include <gtest/gtest.h>

#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class BleuCommand : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    write("hyp.txt", "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n");
    write("ref1.txt", "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
    // CRLF and lone CR line ends (Python's universal newlines) and no final newline: still
    // three lines.
    write("ref2.txt", "The dog had bit the man.\r\nNo one was surprised.\rThe man had bitten the dog.");
  }
  ShellResult bleu(const std::string& args) {
    return run_shell(std::string(TRAINYARD_BINARY) + " bleu " + args, 60);
  }
  std::string f(const std::string& name) { return path(name); }
};

TEST_F(BleuCommand, PrintsSacreBleusLine) {
  const ShellResult r = bleu(f("hyp.txt") + " " + f("ref1.txt") + " " + f("ref2.txt") + " --chrf");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output,
            "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)\n"
            "chrF2 = 59.73\n");
}

TEST_F(BleuCommand, Json) {
  const ShellResult r = bleu(f("hyp.txt") + " " + f("ref1.txt") + " " + f("ref2.txt") + " --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"name\":\"BLEU\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"signature\":\"nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp\""), std::string::npos);
  EXPECT_NE(r.output.find("\"hyp_len\":17"), std::string::npos);
  EXPECT_NE(r.output.find("\"score\":48.5308"), std::string::npos) << r.output;
}

TEST_F(BleuCommand, EmptyHypothesesScoreZero) {
  write("empty.txt", "\n\n\n");
  const ShellResult r = bleu(f("empty.txt") + " " + f("ref1.txt"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("BLEU = 0.00 ", 0), 0u) << r.output;
}

TEST_F(BleuCommand, MisalignedFilesExitTwoNamingBothCounts) {
  write("short.txt", "one line\n");
  const ShellResult r = bleu(f("hyp.txt") + " " + f("short.txt"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("hyp.txt has 3 lines but " + f("short.txt") + " has 1"), std::string::npos) << r.output;
}

TEST_F(BleuCommand, BadInputExitsTwo) {
  write("latin1.txt", "caf\xE9\nb\nc\n");
  ShellResult r = bleu(f("latin1.txt") + " " + f("ref1.txt"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("latin1.txt:1: not UTF-8"), std::string::npos) << r.output;
  r = bleu(f("hyp.txt") + " " + f("missing.txt"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot open " + f("missing.txt")), std::string::npos) << r.output;
  r = bleu(f("hyp.txt"));
  EXPECT_EQ(r.code, 2) << r.output;
  write("blank.txt", "a\n  \nc\n");
  r = bleu(f("hyp.txt") + " " + f("blank.txt"));
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("segment 2 has no reference"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ty
