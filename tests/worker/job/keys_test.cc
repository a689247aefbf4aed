// The key table is the one source of the spec reference: the README's table must be the
// table rendered, and every enumerated name must round-trip.
#include "worker/job/keys.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "worker/job/parser.h"

namespace ty {
namespace {

std::string readme_spec_table() {
  std::ifstream in(std::string(TRAINYARD_SOURCE_DIR) + "/README.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str(), begin = "<!-- spec-keys:begin -->\n", end = "<!-- spec-keys:end -->";
  const size_t a = text.find(begin), b = text.find(end);
  if (a == std::string::npos || b == std::string::npos || b < a) return "(no spec-keys markers in README.md)";
  return text.substr(a + begin.size(), b - a - begin.size());
}

TEST(KeyTable, ReadmeMatchesTheTable) {
  EXPECT_EQ(readme_spec_table(), spec_reference_markdown())
      << "README.md's job spec reference differs from the key table (worker/job/keys.cc); paste the output of "
         "`build/trainyard help spec` between the spec-keys markers";
}

TEST(KeyTable, EveryKeyIsReadByTheParser) {
  // Setting each key to its own default parses, and an unknown sibling does not.
  for (const Key<JobSpec>& k : job_keys()) {
    if (std::string(k.path) == "data.train" || std::string(k.path) == "name") continue;
    JobSpec defaults;
    std::string value = value_text(k.field(defaults));
    if (value.empty()) value = "''";
    // (A GAN's keys are refused for other models, and the plain optimizer's for a GAN.)
    const std::string path = k.path;
    const bool gan = path.rfind("model.latent", 0) == 0 || path.rfind("model.channels", 0) == 0 ||
                     path.rfind("model.conditional", 0) == 0 || path.rfind("optimizer.generator.", 0) == 0 ||
                     path.rfind("optimizer.discriminator.", 0) == 0 || path.rfind("gan.", 0) == 0;
    auto s = parse_job_spec(gan ? "data: {train: x-images-idx3-ubyte, normalize: symmetric}\nmodel: {kind: gan}\n"
                                : "data: {train: x-images-idx3-ubyte}\n",
                            {path + "=" + value});
    EXPECT_TRUE(s.ok()) << k.path << "=" << value << ": " << s.status();
  }
}

template <typename E>
void expect_round_trip() {
  for (std::string_view n : kEnumNames<E>) {
    E e{};
    ASSERT_TRUE(parse_enum(n, e)) << n;
    EXPECT_EQ(name_of(e), n);
  }
  E e{};
  EXPECT_FALSE(parse_enum("no-such-name", e));
}

TEST(KeyTable, EnumNamesRoundTrip) {
  expect_round_trip<ModelKind>();
  expect_round_trip<ActivationKind>();
  expect_round_trip<OptimizerKind>();
  expect_round_trip<Precision>();
  EXPECT_EQ(enum_choices<IoMode>(), "auto, pread, mmap");
}

}  // namespace
}  // namespace ty
