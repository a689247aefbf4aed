// The examples' per-step training losses on the CPU, pinned: a refactoring must leave them
// bit-identical. One thread and oneDNN's AVX2 kernels (ONEDNN_MAX_CPU_ISA), so that the
// numbers do not depend on the machine's core count or its AVX-512. The values are the
// `loss` fields of metrics.jsonl, printed with %.9g (they round-trip a float).
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/shell.h"
#include "tests/support/temp_dir.h"

namespace ty {
namespace {

class GoldenLosses : public TempDirTest {
 protected:
  // The losses of `steps` logged steps of `example` on the first `subset` training samples.
  std::vector<std::string> losses(const std::string& example, int steps, int subset) {
    const std::string dir = path(example);
    ShellResult r =
        run_shell(std::string("ONEDNN_MAX_CPU_ISA=AVX2 ") + TRAINYARD_BINARY + " train " + TRAINYARD_SOURCE_DIR +
                      "/examples/" + example + ".yaml --set train.max_steps=" + std::to_string(steps) +
                      " --set data.train_subset=" + std::to_string(subset) +
                      " --set runtime.threads=1 --set log.every_steps=1 --run-dir " + dir,
                  600);
    EXPECT_EQ(r.code, 0) << r.output;
    std::ifstream in(dir + "/metrics.jsonl");
    std::vector<std::string> out;
    const std::regex loss("\"kind\":\"train\".*\"loss\":([-0-9.eE+]+)");
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, loss)) out.push_back(m[1]);
    }
    return out;
  }
};

TEST_F(GoldenLosses, MlpExample) {
  const std::vector<std::string> want = {"2.29253244",  "2.1320684",   "1.98289347",  "1.74322367",  "1.50733757",
                                         "1.45923924",  "1.28187776",  "1.11832142",  "1.07702696",  "1.06796277",
                                         "0.902992487", "0.951098502", "0.816563308", "1.01415336",  "0.838420391",
                                         "0.925413013", "0.869456947", "0.918222547", "0.800005138", "1.02675998"};
  EXPECT_EQ(losses("fashion_mnist_mlp", 20, 6000), want);
}

TEST_F(GoldenLosses, CnnExample) {
  const std::vector<std::string> want = {"2.30765271", "2.26361823", "2.19044948",
                                         "2.13715863", "2.05231667", "2.07951808"};
  EXPECT_EQ(losses("fashion_mnist_cnn", 6, 2000), want);
}

}  // namespace
}  // namespace ty
