#include "runtime/tensor.h"

#include "gtest/gtest.h"
#include "runtime/context.h"

namespace ty {
namespace {

TEST(Tensor, ShapeNumelAndViewsShareStorage) {
  Context ctx;
  Tensor t = ctx.empty({4, 3});
  for (int i = 0; i < 12; ++i) t.set(i, i);
  EXPECT_EQ(t.numel(), 12);
  Tensor r = t.reshape({2, -1});
  EXPECT_EQ(r.shape(), (Shape{2, 6}));
  EXPECT_TRUE(r.same_storage(t));
  Tensor rows = t.rows(1, 2);
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
  EXPECT_EQ(rows.at(0), 3);
  rows.set(0, 100);
  EXPECT_EQ(t.at(3), 100);
}

TEST(Tensor, CloneIsIndependentAndConvertsDtype) {
  Context ctx;
  Tensor t = ctx.empty({3});
  t.fill(2.5);
  Tensor c = t.clone();
  c.set(0, 1);
  EXPECT_EQ(t.at(0), 2.5);
  Tensor d = t.to(DType::kF64);
  EXPECT_EQ(d.dtype(), DType::kF64);
  EXPECT_EQ(d.at(2), 2.5);
}

TEST(Allocator, ReusesFreedBlocksAndTracksPeak) {
  auto alloc = std::make_shared<CachingHostAllocator>();
  void* p;
  {
    Tensor a = Tensor::empty(alloc, {1000}, DType::kF32);
    p = a.raw();
    EXPECT_GE(alloc->bytes_in_use(), 4000u);
  }
  EXPECT_EQ(alloc->bytes_in_use(), 0u);
  Tensor b = Tensor::empty(alloc, {1000}, DType::kF32);
  EXPECT_EQ(b.raw(), p);
  EXPECT_GE(alloc->peak_bytes_in_use(), 4000u);
}

TEST(TensorDeath, ReshapeToWrongSizeIsABug) {
  Context ctx;
  Tensor t = ctx.empty({4, 3});
  EXPECT_DEATH(t.reshape({5, 3}), "reshape");
}

}  // namespace
}  // namespace ty
