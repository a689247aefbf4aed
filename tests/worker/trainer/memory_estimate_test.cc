// The training memory estimate: from a model built on a shape-only Context (no data), by
// the formula in memory_estimate.h, and the error that names what to lower.
#include "worker/trainer/memory_estimate.h"

#include "gtest/gtest.h"

namespace ty {
namespace {

TEST(MemoryEstimate, FromTheShapesOfAModelThatHoldsNoData) {
  ContextOptions o;
  o.shape_only = true;
  Context sizing(o);
  ModelSpec mlp;
  mlp.hidden = {1000, 1000};
  auto model = build_model(sizing, mlp, {1, 28, 28}, 10, 7);
  ASSERT_TRUE(model.ok()) << model.status();
  const int64_t params = 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10;
  EXPECT_EQ((*model)->num_params(), params);
  // Per sample: flatten (a view: 0), linear 1000, relu 1000, linear 1000, relu 1000, linear 10.
  EXPECT_EQ((*model)->activation_numel(), 4 * 1000 + 10);

  OptimizerSpec adam;  // two moments
  MemoryEstimate e = estimate_training_memory(**model, adam, 64);
  EXPECT_EQ(e.parameters, params * 4 * 2);
  EXPECT_EQ(e.optimizer, params * 4 * 2);
  EXPECT_EQ(e.activations, 64 * 4010 * 4 * 3);
  OptimizerSpec sgd;
  sgd.name = OptimizerKind::kSgd;
  EXPECT_EQ(estimate_training_memory(**model, sgd, 64).optimizer, 0);
  sgd.momentum = 0.9f;
  EXPECT_EQ(estimate_training_memory(**model, sgd, 64).optimizer, params * 4);

  EXPECT_TRUE(check_fits(e, e.total(), "here").ok());
  absl::Status st = check_fits(e, e.total() - 1, "cuda:0");
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("; cuda:0 has "), std::string::npos) << st;
  EXPECT_NE(st.message().find("lower data.batch_size"), std::string::npos) << st;
}

TEST(MemoryEstimate, ConvolutionsCountTheTensorsInsideTheirLayers) {
  ContextOptions o;
  o.shape_only = true;
  Context sizing(o);
  ModelSpec cnn;
  cnn.kind = ModelKind::kCnn;
  cnn.conv = {ConvBlockSpec{8, 3, 1, -1, PoolKind::kMax, 2, false, false}};  // conv + pool fused
  cnn.hidden = {};
  auto model = build_model(sizing, cnn, {1, 8, 8}, 10, 7);
  ASSERT_TRUE(model.ok()) << model.status();
  // conv (8, 8, 8) before its pool (8, 4, 4), relu (8, 4, 4), flatten (a view), linear 10.
  EXPECT_EQ((*model)->activation_numel(), 512 + 128 + 128 + 10);
}

}  // namespace
}  // namespace ty
