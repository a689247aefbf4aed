// Dropout masks are keyed by (seed, step, layer, sample): a sample's mask does not depend on
// the batch it travels in, and nothing carries from one call to the next.
#include <vector>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"

namespace ty {
namespace {

constexpr int64_t kCols = 7;  // not a multiple of 4: rows start inside Philox blocks

// The mask dropout draws for `rows` ones (rows, kCols) starting at sample `first`.
std::vector<float> mask(Context& ctx, int64_t rows, uint64_t first, uint64_t step, uint32_t layer) {
  Tensor ones = ctx.empty({rows, kCols});
  for (int64_t i = 0; i < ones.numel(); ++i) ones.set(i, 1.0);
  ctx.dropout_key() = DropoutKey{step, first};
  Var y = ops::dropout(ctx, Var(ones), 0.5f, /*training=*/true, layer);
  std::vector<float> out(static_cast<size_t>(y.value().numel()));
  for (int64_t i = 0; i < y.value().numel(); ++i) out[static_cast<size_t>(i)] = static_cast<float>(y.value().at(i));
  return out;
}

TEST(Dropout, ASamplesMaskDoesNotDependOnItsBatch) {
  Context ctx(ContextOptions{{}, 1, 9, false});
  const std::vector<float> whole = mask(ctx, 8, 16, 3, 1);
  std::vector<float> parts = mask(ctx, 3, 16, 3, 1);  // rows 16..18, then 19..23
  const std::vector<float> rest = mask(ctx, 5, 19, 3, 1);
  parts.insert(parts.end(), rest.begin(), rest.end());
  EXPECT_EQ(whole, parts);
  EXPECT_EQ(whole, mask(ctx, 8, 16, 3, 1)) << "the same key draws the same mask again";
  int kept = 0;
  for (float m : whole) {
    EXPECT_TRUE(m == 0.f || m == 2.f) << m;
    kept += m != 0.f;
  }
  EXPECT_GT(kept, 8);
  EXPECT_LT(kept, 48);
  // Element e of sample 16 + r: number (16 + r) * 7 + e of the (layer 1, step 3) stream.
  const Philox rng(9, dropout_stream(1, 3));
  for (size_t i = 0; i < whole.size(); ++i)
    EXPECT_EQ(whole[i], rng.uniform(16 * kCols + i) >= 0.5f ? 2.f : 0.f) << "element " << i;
}

TEST(Dropout, StepLayerSampleAndSeedEachChangeTheMask) {
  Context ctx(ContextOptions{{}, 1, 9, false});
  const std::vector<float> base = mask(ctx, 8, 16, 3, 1);
  EXPECT_NE(base, mask(ctx, 8, 16, 4, 1)) << "step";
  EXPECT_NE(base, mask(ctx, 8, 16, 3, 2)) << "layer";
  EXPECT_NE(base, mask(ctx, 8, 17, 3, 1)) << "sample";
  Context other_seed(ContextOptions{{}, 1, 10, false});
  EXPECT_NE(base, mask(other_seed, 8, 16, 3, 1)) << "seed";
}

TEST(Dropout, OffWhenEvaluating) {
  Context ctx(ContextOptions{{}, 1, 9, false});
  Tensor x = ctx.empty({2, kCols});
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, 0.5);
  Var y = ops::dropout(ctx, Var(x), 0.5f, /*training=*/false, 0);
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y.value().at(i), 0.5);
}

}  // namespace
}  // namespace ty
