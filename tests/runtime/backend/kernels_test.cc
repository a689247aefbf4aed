// Routing: each family goes to the first backend enabled for the dtype and device that has
// it; on the host the reference backend takes what oneDNN lacks; an op nobody has throws
// KernelMissing naming the op and the device.
#include "runtime/backend/kernels.h"

#include "gtest/gtest.h"
#include "runtime/backend/reference/reference_backend.h"
#include "runtime/context.h"

namespace ty {
namespace {

TEST(Kernels, HostRoutesWhatOnednnLacksToTheReference) {
  Context ctx;
  Kernels& f32 = ctx.kernels(DType::kF32);
  for (KernelFamily f : {KernelFamily::kDense, KernelFamily::kConv, KernelFamily::kNorm, KernelFamily::kActivation})
    EXPECT_EQ(f32.backend(f)->name(), "onednn") << kernel_family_name(f);
  for (KernelFamily f : {KernelFamily::kPointwise, KernelFamily::kLoss, KernelFamily::kOptimizer})
    EXPECT_EQ(f32.backend(f)->name(), "reference") << kernel_family_name(f);
  // oneDNN takes f32 only: f64 (gradient checks) runs on the reference backend throughout.
  for (int f = 0; f < kNumKernelFamilies; ++f)
    EXPECT_EQ(ctx.kernels(DType::kF64).backend(static_cast<KernelFamily>(f))->name(), "reference");
  EXPECT_TRUE(f32.handles(KernelFamily::kConv, Layout::kBlocked16));
  EXPECT_TRUE(f32.handles(KernelFamily::kPointwise, Layout::kBlocked16));
  EXPECT_EQ(ctx.kernels(DType::kI32).backend(KernelFamily::kDense), nullptr);
}

// A backend with the dense family only, enabled for f32 on devices of `kind`.
template <DeviceKind kind>
class DenseOnly final : public KernelBackendOf<DenseKernels> {
 public:
  std::string name() const override { return kind == DeviceKind::kCPU ? "fast" : "dense-only"; }
  bool enabled(DType dtype, Device device) const override { return dtype == DType::kF32 && device.kind == kind; }
  void convert_layout(const Tensor&, Tensor&) override {}
  void gemm(bool, bool, const Tensor&, const Tensor&, Tensor&, float, const Tensor*) override {}
  void gemm_batched(bool, bool, const Tensor&, const Tensor&, Tensor&, float) override {}
};

void pooling_op(Kernels& k) { k.conv(); }

TEST(Kernels, AMissingFamilyOnADeviceNamesTheOpAndTheDevice) {
  DenseOnly<DeviceKind::kCUDA> device;
  ReferenceBackend reference;  // enabled on the CPU only: no fallback on a device
  Kernels k({&device, &reference}, DType::kF32, Device{DeviceKind::kCUDA, 1});
  EXPECT_EQ(&k.dense(), static_cast<DenseKernels*>(&device));
  try {
    pooling_op(k);
    FAIL() << "no KernelMissing";
  } catch (const KernelMissing& e) {
    EXPECT_STREQ(e.what(),
                 "op pooling_op: no backend here has convolution kernels for f32 tensors on cuda:1 (backends: "
                 "dense-only, reference); run this model on a device that has them (runtime.device)");
  }
}

TEST(Kernels, OnTheHostAMissingFamilyFallsBackToTheReference) {
  DenseOnly<DeviceKind::kCPU> fast;
  ReferenceBackend reference;
  Kernels k({&fast, &reference}, DType::kF32, Device{});
  EXPECT_EQ(k.backend(KernelFamily::kDense), &fast);
  EXPECT_EQ(k.backend(KernelFamily::kConv), &reference);
  EXPECT_EQ(&k.conv(), static_cast<ConvKernels*>(&reference));
  EXPECT_EQ(k.backend(KernelFamily::kLoss), &reference);
}

TEST(Kernels, OpNamesComeFromTheEnclosingFunction) {
  auto here = [] { return op_name(std::source_location::current()); };
  EXPECT_EQ(here(), "Kernels_OpNamesComeFromTheEnclosingFunction_Test::TestBody");
  // GCC's forms: a function, a lambda in it, a member, a call operator, a template, an
  // anonymous namespace; only the namespaces ty, ops and anonymous ones are dropped.
  EXPECT_EQ(op_name_of("ty::Var ty::ops::conv2d(ty::Context&, const ty::Var&)"), "conv2d");
  EXPECT_EQ(op_name_of("ty::ops::conv2d(ty::Context&, const ty::Var&)::<lambda(const ty::Tensor&)>"), "conv2d");
  EXPECT_EQ(op_name_of("virtual void ty::Identity::forward(int)"), "Identity::forward");
  EXPECT_EQ(op_name_of("ty::Var ty::{anonymous}::Loops::operator()(int) const"), "Loops::operator()");
  EXPECT_EQ(op_name_of("void ty::Pool<ty::Max, 2>::run() [with T = float]"), "Pool<ty::Max, 2>::run");
  EXPECT_EQ(op_name_of("void ty::ops::{anonymous}::pool2d(ty::Context&)"), "pool2d");
}

}  // namespace
}  // namespace ty
