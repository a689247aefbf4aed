// Synchronized batch norm over ranks as threads: each rank normalizes its shard with the
// statistics of the whole batch, exactly as one rank does on the whole batch.
#include <thread>

#include "comm/inprocess/inprocess_communicator.h"
#include "gtest/gtest.h"
#include "runtime/ops/ops.h"
#include "runtime/philox.h"

namespace ty {
namespace {

struct Out {
  Tensor y, dx, dgamma;
};

// y = bn(x); loss = sum(y * r) so dy = r.
Out run(Context& ctx, const Tensor& x, const Tensor& r, bool sync) {
  const int64_t c = x.dim(1);
  Tensor g = ctx.empty({c}, DType::kF64), b = ctx.empty({c}, DType::kF64);
  for (int64_t i = 0; i < c; ++i) {
    g.set(i, 1.0 + 0.1 * i);
    b.set(i, -0.2 * i);
  }
  Tensor rm = ctx.zeros({c}, DType::kF64), rv = ctx.zeros({c}, DType::kF64);
  Var xv(x, true), gv(g, true), bv(b, true);
  Tape tape;
  TapeScope rec(ctx, &tape);
  Var y = sync ? ops::sync_batch_norm(ctx, xv, gv, bv, rm, rv, 0.1f, 1e-5f, true)
               : ops::batch_norm(ctx, xv, gv, bv, rm, rv, 0.1f, 1e-5f, true);
  Tensor out = ctx.empty({1}, DType::kF64);
  double acc = 0;
  for (int64_t i = 0; i < y.value().numel(); ++i) acc += y.value().at(i) * r.at(i);
  out.set(0, acc);
  Var loss = record_op(ctx, {y}, Var(out), [&ctx, y, r](const Tensor&) { y.accumulate_grad(ctx, r.clone()); });
  tape.backward(loss);
  return {y.value().clone(), xv.grad().clone(), gv.grad().clone()};
}

TEST(SyncBatchNorm, ShardsMatchTheWholeBatch) {
  for (int w : {2, 3}) {
    const int64_t per = 2, n = per * w, c = 3, hw = 4;
    Tensor x = Tensor::empty(host_memory(), {n, c, 2, 2}, DType::kF64),
           r = Tensor::empty(host_memory(), {n, c, 2, 2}, DType::kF64);
    Philox rng(1, 2);
    for (int64_t i = 0; i < x.numel(); ++i) {
      x.set(i, rng.normal(i) * 2 + 1);
      r.set(i, rng.normal(1000 + i));
    }
    Context whole_ctx(ContextOptions{{}, 1, 0, true});
    const Out whole = run(whole_ctx, x, r, false);

    auto comms = InProcessCommunicator::create_group(w);
    std::vector<Out> parts(w);
    std::vector<std::thread> threads;
    for (int k = 0; k < w; ++k)
      threads.emplace_back([&, k] {
        Context ctx(ContextOptions{{}, 1, 0, true});
        Communicator* comm = comms[k].get();
        ctx.set_cross_rank_sum([comm](Tensor& t) { ASSERT_TRUE(comm->allreduce(t, ReduceOp::kSum)->wait().ok()); });
        parts[k] = run(ctx, x.rows(k * per, per).clone(), r.rows(k * per, per).clone(), true);
      });
    for (auto& t : threads) t.join();

    for (int k = 0; k < w; ++k)
      for (int64_t i = 0; i < per * c * hw; ++i) {
        ASSERT_NEAR(parts[k].y.at(i), whole.y.at(k * per * c * hw + i), 1e-10) << "y, rank " << k;
        ASSERT_NEAR(parts[k].dx.at(i), whole.dx.at(k * per * c * hw + i), 1e-10) << "dx, rank " << k;
      }
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0;
      for (int k = 0; k < w; ++k) sum += parts[k].dgamma.at(ch);
      EXPECT_NEAR(sum, whole.dgamma.at(ch), 1e-10);
    }
  }
}

}  // namespace
}  // namespace ty
