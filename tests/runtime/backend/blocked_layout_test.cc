// The blocked layout on the host: oneDNN converts, the reference backend's channel kernels
// (the host context's pointwise family) read and write it, and both agree with plain.
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "runtime/context.h"
#include "tests/support/backend_compare.h"

namespace ty {
namespace {

ContextOptions host(bool reference) {
  ContextOptions o;
  o.use_reference_kernels = reference;
  return o;
}

TEST(BlockedLayout, ChannelBiasAndSumsAgreeWithPlain) {
  std::mt19937 rng(3);
  Context ctx, ref(host(/*reference=*/true));
  ASSERT_TRUE(ctx.kernels(DType::kF32).handles(KernelFamily::kPointwise, Layout::kBlocked16));
  Tensor x = random_tensor({2, 32, 3, 5}, rng), bias = random_tensor({32}, rng);
  Tensor plain_y = x.empty_like(), plain_sums = Tensor::empty(host_memory(), {32});
  ref.kernels(DType::kF32).pointwise().add_channel_bias(x, bias, plain_y);
  ref.kernels(DType::kF32).pointwise().channel_sums(x, plain_sums);

  Kernels& k = ctx.kernels(DType::kF32);
  Tensor xb = x.with_layout(Layout::kBlocked16).empty_like();
  k.dense().convert_layout(x, xb);
  Tensor yb = xb.empty_like(), sums = poisoned_tensor({32}), y = x.empty_like();
  yb.fill(std::nan(""));
  k.pointwise().add_channel_bias(xb, bias, yb);
  k.pointwise().channel_sums(xb, sums);
  k.dense().convert_layout(yb, y);
  EXPECT_TRUE(normalized_error_within(y, plain_y, 0));
  EXPECT_TRUE(normalized_error_within(sums, plain_sums, 1e-6));
}

TEST(BlockedLayout, ConversionRoundTripsOnEveryHostBackend) {
  std::mt19937 rng(4);
  Tensor x = random_tensor({2, 32, 3, 5}, rng);
  for (bool reference : {false, true}) {
    Context ctx(host(reference));
    DenseKernels& k = ctx.kernels(DType::kF32).dense();
    Tensor b = x.with_layout(Layout::kBlocked16).empty_like(), back = x.empty_like();
    b.fill(std::nan(""));
    back.fill(std::nan(""));
    k.convert_layout(x, b);
    k.convert_layout(b, back);
    EXPECT_TRUE(normalized_error_within(back, x, 0)) << (reference ? "reference" : "onednn");
    // Element (n=1, c=17, h=2, w=4) lands in block 1, lane 1.
    EXPECT_EQ(b.at(((1 * 2 + 1) * 15 + 2 * 5 + 4) * 16 + 1), x.at(((1 * 32 + 17) * 3 + 2) * 5 + 4));
  }
}

}  // namespace
}  // namespace ty
