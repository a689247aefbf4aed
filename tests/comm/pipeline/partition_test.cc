// Balanced cuts of a layer list into pipeline stages, and explicit cut points checked.
#include "comm/pipeline/partition.h"

#include <cmath>

#include "gtest/gtest.h"

namespace ty::pipeline {
namespace {

std::vector<int64_t> cuts(const std::vector<double>& w, int p) {
  absl::StatusOr<std::vector<int64_t>> c = balanced_cuts(w, p);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : std::vector<int64_t>{-1};
}

TEST(PipelinePartition, BalancesTheLargestStage) {
  EXPECT_EQ(cuts({1, 1, 1, 1}, 2), (std::vector<int64_t>{2}));
  EXPECT_EQ(cuts({1, 1, 1, 1, 1, 1, 1, 1}, 4), (std::vector<int64_t>{2, 4, 6}));
  // A heavy first layer stands alone; the rest share the second stage.
  EXPECT_EQ(cuts({10, 1, 1, 1}, 2), (std::vector<int64_t>{1}));
  EXPECT_EQ(cuts({1, 1, 1, 10}, 2), (std::vector<int64_t>{3}));
  EXPECT_EQ(cuts({5}, 1), (std::vector<int64_t>{}));
  EXPECT_EQ(cuts({3, 3, 3}, 3), (std::vector<int64_t>{1, 2}));
}

TEST(PipelinePartition, WeightlessLayersStayWithTheLayerBeforeThem) {
  // linear, relu, linear, relu, linear, relu by parameters: each stage a linear and its relu.
  EXPECT_EQ(cuts({4, 0, 4, 0, 4, 0}, 3), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(cuts({4, 0, 0, 4}, 2), (std::vector<int64_t>{3}));
}

TEST(PipelinePartition, EachStageNeedsALayer) {
  EXPECT_FALSE(balanced_cuts({1, 1}, 3).ok());
  EXPECT_NE(balanced_cuts({1, 1}, 3).status().message().find("cannot cut 2 layers into 3 pipeline stages"),
            std::string::npos);
  EXPECT_EQ(cuts({0, 0, 0}, 3), (std::vector<int64_t>{1, 2}));  // all weightless: still one each
  // A measurement gone wrong is refused, naming the layer.
  EXPECT_NE(balanced_cuts({1, std::nan(""), 1}, 2).status().message().find("layer 1 weighs nan"), std::string::npos);
  EXPECT_FALSE(balanced_cuts({1, -1, 1}, 2).ok());
}

TEST(PipelinePartition, ExplicitCutsAreCheckedNamingTheKey) {
  const char* key = "parallel.pipeline.partition";
  EXPECT_TRUE(check_cuts({2, 5}, 3, 8, key).ok());
  EXPECT_TRUE(check_cuts({2, 5}, 3, 0, key).ok());  // the layer count not known yet (spec time)
  auto message = [&](const std::vector<int64_t>& c, int p, int64_t l) {
    return std::string(check_cuts(c, p, l, key).message());
  };
  EXPECT_EQ(message({2}, 3, 8), "parallel.pipeline.partition: [2] holds 1 cut points; 3 stages need 2");
  EXPECT_EQ(message({2, 2}, 3, 8),
            "parallel.pipeline.partition: [2, 2] leaves stage 1 empty (cut points ascend, each between 1 and the "
            "number of layers, 8, exclusive)");
  EXPECT_NE(message({0, 3}, 3, 8).find("leaves stage 0 empty"), std::string::npos);
  EXPECT_NE(message({3, 8}, 3, 8).find("leaves stage 2 empty"), std::string::npos);
}

}  // namespace
}  // namespace ty::pipeline
