// A data-parallel step on one GPU over NCCL: a two-layer model on a CUDA Context, its
// gradients packed into buckets that NCCL averages on the comm stream as backward makes
// them ready, then an Adam step on the bucket views. On one rank the average is the
// gradient itself, so the parameters must match a step without buckets exactly: this
// checks that gradients land in their bucket slots, ordered with the comm stream, not
// NCCL's averaging across ranks (that needs two GPUs; the lent machine has one). Skips
// without a CUDA device; tests/device/check.sh runs it on one.
#include <cuda_runtime_api.h>

#include <random>

#include "comm/gradient_bucketer.h"
#include "comm/inprocess/inprocess_communicator.h"
#include "comm/nccl/nccl_communicator.h"
#include "comm/rendezvous/collective_store.h"
#include "gtest/gtest.h"
#include "runtime/device_probe.h"
#include "runtime/ops/ops.h"
#include "runtime/optim/adam.h"

namespace ty {
namespace {

struct TwoLayers {
  std::vector<Var> params;
  TwoLayers(Context& ctx, uint64_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.3f, 0.3f);
    for (Shape s : {Shape{64, 32}, Shape{64}, Shape{10, 64}, Shape{10}}) {
      Tensor t = Tensor::empty(host_memory(), s);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
      params.emplace_back(ctx.to_device(t), true);
    }
  }
  Var loss(Context& ctx, const Tensor& x, const Tensor& y) {
    Var h = ops::relu(ctx, ops::linear(ctx, Var(x), params[0], params[1]));
    return ops::cross_entropy(ctx, ops::linear(ctx, h, params[2], params[3]), y);
  }
};

TEST(NcclDataParallel, BucketedStepOnOneGpuMatchesAPlainStep) {
  auto gpu = cuda_device(0);
  if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message();
  ContextOptions co;
  co.device = Device{DeviceKind::kCUDA, 0};
  auto ctx_or = Context::create(co);
  ASSERT_TRUE(ctx_or.ok()) << ctx_or.status();
  Context& ctx = **ctx_or;
  auto hosts = InProcessCommunicator::create_group(1);
  rendezvous::CollectiveStore store(*hosts[0]);
  auto nccl = NcclCommunicator::create(store, "nccl/test", 0, 1, 0, static_cast<cudaStream_t>(ctx.stream()));
  ASSERT_TRUE(nccl.ok()) << nccl.status();

  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  Tensor x = Tensor::empty(host_memory(), {48, 32}), y = Tensor::empty(host_memory(), {48}, DType::kI32);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
  for (int64_t i = 0; i < 48; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(rng() % 10);
  x = ctx.to_device(x);
  y = ctx.to_device(y);

  TwoLayers plain(ctx, 9), bucketed(ctx, 9);
  Adam plain_opt(ctx, plain.params, AdamOptions{}), bucketed_opt(ctx, bucketed.params, AdamOptions{});
  // Small buckets: the last layer's parameters fill the first, launched during backward.
  GradientBucketer bucketer(**nccl, bucketed.params, 64 * 4 * 4);
  ASSERT_GE(bucketer.num_buckets(), 2u);
  for (int step = 0; step < 3; ++step) {
    Tape t1, t2;
    {
      TapeScope rec(ctx, &t1);
      t1.backward(plain.loss(ctx, x, y));
    }
    plain_opt.step(1e-2f);
    plain_opt.zero_grad();
    {
      TapeScope rec(ctx, &t2);
      Var loss = bucketed.loss(ctx, x, y);
      bucketer.begin_step();
      t2.backward(loss);
    }
    ASSERT_TRUE(bucketer.finish_step().ok());
    bucketed_opt.step(1e-2f);
    bucketed_opt.zero_grad();
  }
  for (size_t k = 0; k < plain.params.size(); ++k) {
    const Tensor a = plain.params[k].value().host(), b = bucketed.params[k].value().host();
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.at(i), b.at(i)) << "parameter " << k << " element " << i;
  }
  EXPECT_GT(bucketer.comm_seconds(), 0.0);
}

}  // namespace
}  // namespace ty
