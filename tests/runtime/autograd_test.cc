// The tape: gradient accumulation, buffer reuse, and per-parameter "gradient ready" hooks.
#include <map>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

Tensor filled(Context& ctx, Shape s, double start) {
  Tensor t = ctx.empty(std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.set(i, start + 0.1 * i);
  return t;
}

TEST(Tape, HooksFireOnceInReverseOrderWithFinalGradients) {
  Context ctx(ContextOptions{{}, 1, 0, false});
  Var w1(filled(ctx, {4, 3}, 0.1), true, "w1"), w2(filled(ctx, {2, 4}, -0.3), true, "w2");
  std::vector<std::string> order;
  std::map<std::string, Tensor> at_hook;
  for (Var* w : {&w1, &w2})
    w->set_grad_ready_hook([&](VarState& s) {
      order.push_back(s.name);
      at_hook[s.name] = s.grad.clone();
    });
  Tape tape;
  {
    TapeScope rec(ctx, &tape);
    Var x(filled(ctx, {5, 3}, 0.2));
    Var h = ops::relu(ctx, ops::linear(ctx, x, w1, Var()));
    tape.backward(ops::sum(ctx, ops::linear(ctx, h, w2, Var())));
  }
  ASSERT_EQ(order, (std::vector<std::string>{"w2", "w1"}));
  for (Var* w : {&w1, &w2})
    for (int64_t i = 0; i < w->value().numel(); ++i) EXPECT_EQ(at_hook[w->name()].at(i), w->grad().at(i));
  EXPECT_EQ(tape.size(), 0u);
}

TEST(Tape, SharedParameterHookWaitsForEveryUse) {
  Context ctx(ContextOptions{{}, 1, 0, false});
  Var w(filled(ctx, {3, 3}, 0.05), true, "w");
  int fired = 0;
  Tensor seen;
  w.set_grad_ready_hook([&](VarState& s) {
    ++fired;
    seen = s.grad.clone();
  });
  Tape tape;
  {
    TapeScope rec(ctx, &tape);
    Var x(filled(ctx, {2, 3}, 0.3));
    Var y = ops::linear(ctx, ops::tanh(ctx, ops::linear(ctx, x, w, Var())), w, Var());
    tape.backward(ops::sum(ctx, y));
  }
  EXPECT_EQ(fired, 1);
  for (int64_t i = 0; i < 9; ++i) EXPECT_EQ(seen.at(i), w.grad().at(i));
}

TEST(Tape, PinnedGradientBufferIsReusedAcrossSteps) {
  Context ctx(ContextOptions{{}, 1, 0, false});
  for (bool pinned : {false, true}) {
    Var w(filled(ctx, {2, 2}, 1.0), true);
    Tensor bucket = ctx.zeros({2, 2});
    if (pinned) {
      w.state()->grad = bucket;  // e.g. a view into a gradient bucket
      w.state()->pin_grad_buffer = true;
    }
    for (int step = 0; step < 2; ++step) {
      Tape tape;
      TapeScope rec(ctx, &tape);
      tape.backward(ops::sum(ctx, ops::relu(ctx, w)));
      EXPECT_EQ(w.grad().at(0), 1.0);
      EXPECT_EQ(w.grad().same_storage(bucket), pinned);
      w.zero_grad();
      EXPECT_FALSE(w.grad().defined());
    }
  }
}

TEST(Tape, NothingIsRecordedWithoutATapeOrGradients) {
  Context ctx(ContextOptions{{}, 1, 0, false});
  Tape tape;
  Var x(filled(ctx, {2, 2}, 1.0));
  {
    TapeScope rec(ctx, &tape);
    ops::relu(ctx, x);  // no input needs a gradient
  }
  EXPECT_EQ(tape.size(), 0u);
  Var w(filled(ctx, {2, 2}, 1.0), true);
  ops::relu(ctx, w);  // no tape set
  EXPECT_EQ(tape.size(), 0u);
}

}  // namespace
}  // namespace ty
