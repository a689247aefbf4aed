// Every op's backward against central finite differences, in double precision, on the
// reference backend, over random shapes.
#include <functional>
#include <random>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

using Fn = std::function<Var(Context&, const std::vector<Var>&)>;

// loss = sum(y * r) for a fixed random r, so every output element matters.
Var weighted_sum(Context& ctx, const Var& y, const Tensor& r) {
  Tensor out = ctx.empty({1}, DType::kF64);
  double acc = 0;
  for (int64_t i = 0; i < y.value().numel(); ++i) acc += y.value().at(i) * r.at(i);
  out.set(0, acc);
  return record_op(ctx, {y}, Var(out), [&ctx, y, r](const Tensor& g) {
    Tensor d = r.clone();
    for (int64_t i = 0; i < d.numel(); ++i) d.set(i, r.at(i) * g.at(0));
    y.accumulate_grad(ctx, d);
  });
}

class GradCheck : public ::testing::Test {
 protected:
  GradCheck() : ctx_(ContextOptions{{}, 1, 7, true}), rng_(1234) {}

  Tensor random(Shape s, double lo = -1, double hi = 1) {
    Tensor t = ctx_.empty(std::move(s), DType::kF64);
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.set(i, u(rng_));
    return t;
  }
  int64_t dim(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }

  double loss(const Fn& f, const std::vector<Tensor>& inputs, const Tensor& r) {
    std::vector<Var> vars;
    for (const Tensor& t : inputs) vars.emplace_back(t, false);
    TapeScope none(ctx_, nullptr);
    Var y = f(ctx_, vars);
    double acc = 0;
    for (int64_t i = 0; i < y.value().numel(); ++i) acc += y.value().at(i) * r.at(i);
    return acc;
  }

  // Compares analytic and numeric gradients for the inputs marked in `check`.
  void expect_match(const Fn& f, std::vector<Tensor> inputs, std::vector<bool> check = {}) {
    if (check.empty()) check.assign(inputs.size(), true);
    Tensor r;
    {
      TapeScope none(ctx_, nullptr);
      std::vector<Var> vars;
      for (const Tensor& t : inputs) vars.emplace_back(t, false);
      r = random(f(ctx_, vars).shape());
    }
    Tape tape;
    std::vector<Var> vars;
    for (size_t i = 0; i < inputs.size(); ++i) vars.emplace_back(inputs[i], check[i]);
    {
      TapeScope rec(ctx_, &tape);
      Var y = f(ctx_, vars);
      tape.backward(weighted_sum(ctx_, y, r));
    }
    const double h = 1e-6;
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!check[k]) continue;
      Tensor g = vars[k].grad();
      ASSERT_TRUE(g.defined()) << "input " << k << " got no gradient";
      Tensor& x = inputs[k];
      const int64_t n = x.numel(), stride = std::max<int64_t>(n / 40, 1);
      for (int64_t i = 0; i < n; i += stride) {
        const double orig = x.at(i);
        x.set(i, orig + h);
        const double up = loss(f, inputs, r);
        x.set(i, orig - h);
        const double down = loss(f, inputs, r);
        x.set(i, orig);
        const double numeric = (up - down) / (2 * h);
        EXPECT_NEAR(g.at(i), numeric, 1e-6 + 1e-5 * std::fabs(numeric))
            << "input " << k << " element " << i << " of " << shape_str(x.shape());
      }
    }
  }

  Context ctx_;
  std::mt19937 rng_;
};

TEST_F(GradCheck, Linear) {
  for (int rep = 0; rep < 3; ++rep) {
    int64_t n = dim(1, 5), in = dim(1, 7), out = dim(1, 6);
    expect_match([](Context& c, const std::vector<Var>& v) { return ops::linear(c, v[0], v[1], v[2]); },
                 {random({n, in}), random({out, in}), random({out})});
    expect_match([](Context& c, const std::vector<Var>& v) { return ops::linear(c, v[0], v[1], Var()); },
                 {random({n, in}), random({out, in})});
  }
}

TEST_F(GradCheck, Matmul) {
  int64_t m = dim(1, 5), k = dim(1, 5), n = dim(1, 5);
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::matmul(c, v[0], v[1]); },
               {random({m, k}), random({k, n})});
}

TEST_F(GradCheck, Conv2dStridesAndPadding) {
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1}) {
      int64_t n = dim(1, 2), c = dim(1, 3), h = dim(4, 7), w = dim(4, 7), k = dim(1, 3), r = dim(1, 3);
      expect_match(
          [stride, pad](Context& ctx, const std::vector<Var>& v) {
            return ops::conv2d(ctx, v[0], v[1], v[2], {stride, pad});
          },
          {random({n, c, h, w}), random({k, c, r, r}), random({k})});
    }
}

TEST_F(GradCheck, ConvTranspose2dStridesPaddingAndOutputPadding) {
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1}) {
      const int64_t out_pad = stride - 1;
      int64_t n = dim(1, 2), c = dim(1, 3), h = dim(2, 5), w = dim(2, 5), k = dim(1, 3), r = dim(2, 4);
      expect_match(
          [stride, pad, out_pad](Context& ctx, const std::vector<Var>& v) {
            return ops::conv_transpose2d(ctx, v[0], v[1], v[2], {stride, pad, out_pad});
          },
          {random({n, c, h, w}), random({c, k, r, r}), random({k})});
    }
}

TEST_F(GradCheck, ChannelBias) {
  for (Shape s : {Shape{2, 3, 4, 5}, Shape{3, 4}})
    expect_match([](Context& ctx, const std::vector<Var>& v) { return ops::add_channel_bias(ctx, v[0], v[1]); },
                 {random(s), random({s[1]})});
}

TEST_F(GradCheck, MaxAndAvgPool) {
  for (int64_t pad : {0, 1}) {
    int64_t n = dim(1, 2), c = dim(1, 3), h = dim(4, 7), w = dim(4, 7);
    expect_match(
        [pad](Context& ctx, const std::vector<Var>& v) {
          return ops::max_pool2d(ctx, v[0], {2, 2, pad});
        },
        {random({n, c, h, w})});
    expect_match(
        [pad](Context& ctx, const std::vector<Var>& v) {
          return ops::avg_pool2d(ctx, v[0], {3, 2, pad});
        },
        {random({n, c, h, w})});
  }
}

TEST_F(GradCheck, Activations) {
  for (Eltwise k : {Eltwise::kRelu, Eltwise::kLeakyRelu, Eltwise::kGelu, Eltwise::kTanh, Eltwise::kSigmoid}) {
    SCOPED_TRACE(static_cast<int>(k));
    expect_match([k](Context& c, const std::vector<Var>& v) { return ops::activation(c, v[0], k, 0.1f); },
                 {random({dim(1, 4), dim(1, 9)}, -3, 3)});
  }
}

TEST_F(GradCheck, SoftmaxAndLogSoftmax) {
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::softmax(c, v[0]); },
               {random({dim(1, 4), dim(2, 8)}, -3, 3)});
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::log_softmax(c, v[0]); },
               {random({dim(1, 4), dim(2, 8)}, -3, 3)});
}

TEST_F(GradCheck, Dropout) {
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::dropout(c, v[0], 0.3f, true, 0); },
               {random({dim(2, 5), dim(2, 9)})});
}

// Ids repeat, so that one row's gradient sums several positions'.
TEST_F(GradCheck, Embedding) {
  Tensor ids = Tensor::empty(host_memory(), {3, 4}, DType::kI32);
  const int32_t picks[] = {0, 2, 2, 5, 1, 0, 4, 4, 3, 5, 5, 5};
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int32_t>()[i] = picks[i];
  expect_match([ids](Context& c, const std::vector<Var>& v) { return ops::embedding(c, ids, v[0]); },
               {random({6, dim(2, 7)})});
}

TEST_F(GradCheck, ReshapeFlattenAdd) {
  expect_match(
      [](Context& c, const std::vector<Var>& v) {
        Var f = ops::flatten(c, v[0]);
        return ops::add(c, ops::reshape(c, f, {-1}), ops::reshape(c, v[1], {-1}));
      },
      {random({2, 3, 4}), random({24})});
  // The same input on both sides of an add.
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::add(c, v[0], v[0]); }, {random({3, 3})});
}

TEST_F(GradCheck, Concat) {
  for (int axis : {0, 1, 2})
    expect_match(
        [axis](Context& c, const std::vector<Var>& v) {
          return ops::concat(c, {v[0], v[1]}, axis);
        },
        {random({2, 3, 2}), random({2, 3, 2})});
  expect_match(
      [](Context& c, const std::vector<Var>& v) {
        return ops::concat(c, {v[0], v[1]}, 1);
      },
      {random({2, 1, 3}), random({2, 4, 3})});
}

TEST_F(GradCheck, SumAndMean) {
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::sum(c, v[0]); }, {random({dim(1, 5), 3})});
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::mean(c, v[0]); }, {random({dim(1, 5), 3})});
}

TEST_F(GradCheck, BatchNormTrainingAndEval) {
  for (bool training : {true, false})
    for (Shape s : {Shape{5, 3}, Shape{3, 2, 3, 4}}) {
      const int64_t c = s[1];
      Tensor rm = random({c}), rv = random({c}, 0.5, 2);
      expect_match(
          [&rm, &rv, training](Context& ctx, const std::vector<Var>& v) {
            return ops::batch_norm(ctx, v[0], v[1], v[2], rm, rv, 0.1f, 1e-5f, training);
          },
          {random(s), random({c}), random({c})});
    }
}

TEST_F(GradCheck, LayerNorm) {
  const int64_t d = dim(2, 8);
  expect_match([](Context& c, const std::vector<Var>& v) { return ops::layer_norm(c, v[0], v[1], v[2], 1e-5f); },
               {random({dim(1, 4), d}), random({d}), random({d})});
}

TEST_F(GradCheck, Losses) {
  const int64_t n = dim(1, 6), c = dim(2, 7);
  Tensor labels = ctx_.empty({n}, DType::kI32);
  for (int64_t i = 0; i < n; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(dim(0, c - 1));
  for (float smoothing : {0.f, 0.1f})
    expect_match(
        [&labels, smoothing](Context& ctx, const std::vector<Var>& v) {
          return ops::cross_entropy(ctx, v[0], labels, smoothing);
        },
        {random({n, c}, -2, 2)});
  Tensor target = random({n, c});
  expect_match([&target](Context& ctx, const std::vector<Var>& v) { return ops::mse_loss(ctx, v[0], target); },
               {random({n, c})});
  Tensor prob = random({n, c}, 0, 1);
  expect_match([&prob](Context& ctx, const std::vector<Var>& v) { return ops::bce_with_logits(ctx, v[0], prob); },
               {random({n, c}, -3, 3)});
}

TEST_F(GradCheck, CrossEntropyLeavesIgnoredRowsOut) {
  Tensor labels = ctx_.empty({5}, DType::kI32);
  const int32_t picks[] = {2, ops::kIgnoreLabel, 0, ops::kIgnoreLabel, 3};
  for (int i = 0; i < 5; ++i) labels.data<int32_t>()[i] = picks[i];
  expect_match([&labels](Context& ctx, const std::vector<Var>& v) { return ops::cross_entropy(ctx, v[0], labels); },
               {random({5, 4}, -2, 2)});
  // The mean is over the three labelled rows: the same as those rows alone (to the f32
  // precision of the rescaling factor the kernels take).
  Tensor logits = random({5, 4}, -2, 2), kept = ctx_.empty({3, 4}, DType::kF64),
         kept_labels = ctx_.empty({3}, DType::kI32);
  for (int r = 0, k = 0; r < 5; ++r) {
    if (picks[r] < 0) continue;
    for (int j = 0; j < 4; ++j) kept.set(k * 4 + j, logits.at(r * 4 + j));
    kept_labels.data<int32_t>()[k++] = picks[r];
  }
  TapeScope none(ctx_, nullptr);
  EXPECT_NEAR(ops::cross_entropy(ctx_, Var(logits), labels).value().item(),
              ops::cross_entropy(ctx_, Var(kept), kept_labels).value().item(), 1e-6);
}

TEST_F(GradCheck, LstmAndGru) {
  for (bool lstm : {true, false}) {
    const int64_t n = dim(1, 3), len = dim(1, 5), e = dim(1, 4), h = dim(1, 4), g = (lstm ? 4 : 3) * h;
    SCOPED_TRACE(::testing::Message() << (lstm ? "lstm" : "gru") << " n " << n << " len " << len << " e " << e << " h "
                                      << h);
    expect_match(
        [lstm](Context& c, const std::vector<Var>& v) {
          return lstm ? ops::lstm(c, v[0], v[1], v[2], v[3], v[4]) : ops::gru(c, v[0], v[1], v[2], v[3], v[4]);
        },
        {random({n, len, e}), random({g, e}), random({g, h}), random({g}), random({g})});
  }
}

// Against PyTorch's nn.LSTM / nn.GRU on fixed weights (torch 1.13 in f64, to 8 digits):
// the gate order and GRU's reset applied after the recurrent product.
TEST_F(GradCheck, LstmAndGruMatchPyTorchOnFixedValues) {
  // x (1, 2, 1), hidden 1; every weight and bias 0.5, x = [1, -1].
  for (bool lstm : {true, false}) {
    const int64_t g = lstm ? 4 : 3;
    Tensor x = ctx_.empty({1, 2, 1}, DType::kF64), w_ih = ctx_.empty({g, 1}, DType::kF64),
           w_hh = ctx_.empty({g, 1}, DType::kF64), b = ctx_.empty({g}, DType::kF64);
    x.set(0, 1.0), x.set(1, -1.0);
    w_ih.fill(0.5), w_hh.fill(0.5), b.fill(0.5);
    TapeScope none(ctx_, nullptr);
    Var y = lstm ? ops::lstm(ctx_, Var(x), Var(w_ih), Var(w_hh), Var(b), Var(b))
                 : ops::gru(ctx_, Var(x), Var(w_ih), Var(w_hh), Var(b), Var(b));
    // torch.nn.LSTM(1, 1) / GRU(1, 1) with all parameters 0.5, input [[[1.], [-1.]]].
    const double want[2][2] = {{0.51438592, 0.50020080}, {0.16185455, 0.23157331}};
    EXPECT_NEAR(y.value().at(0), want[lstm ? 0 : 1][0], 1e-7) << (lstm ? "lstm" : "gru");
    EXPECT_NEAR(y.value().at(1), want[lstm ? 0 : 1][1], 1e-7) << (lstm ? "lstm" : "gru");
  }
}

TEST_F(GradCheck, CausalSelfAttention) {
  const int64_t n = dim(1, 2), t = dim(1, 5), heads = dim(1, 3), dh = dim(1, 3);
  SCOPED_TRACE(::testing::Message() << "n " << n << " t " << t << " heads " << heads << " dh " << dh);
  expect_match([heads](Context& c, const std::vector<Var>& v) { return ops::causal_self_attention(c, v[0], heads); },
               {random({n, t, 3 * heads * dh}, -2, 2)});
}

// Position i sees positions up to i only: changing a later position leaves earlier outputs
// as they were; and the cached form (one position at a time) gives the whole form's outputs.
TEST_F(GradCheck, AttentionIsCausalAndItsCacheAgrees) {
  const int64_t t = 5, heads = 2, d = 4;
  Tensor qkv = random({1, t, 3 * d}, -2, 2);
  TapeScope none(ctx_, nullptr);
  const Tensor y = ops::causal_self_attention(ctx_, Var(qkv), heads).value().clone();
  Tensor changed = qkv.clone();
  for (int64_t j = 0; j < 3 * d; ++j) changed.set((t - 1) * 3 * d + j, 9.0);
  const Tensor y2 = ops::causal_self_attention(ctx_, Var(changed), heads).value();
  for (int64_t i = 0; i < (t - 1) * d; ++i) EXPECT_EQ(y.at(i), y2.at(i)) << i;
  Tensor cache = ctx_.zeros({t, 1, 3 * d}, DType::kF64);
  int64_t len = 0;
  for (int64_t p = 0; p < t; ++p) {
    const Tensor one = qkv.reshape({t, 3 * d}).rows(p, 1).reshape({1, 1, 3 * d});
    const Tensor out = ops::cached_causal_self_attention(ctx_, one, heads, cache, len);
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(out.at(j), y.at(p * d + j), 1e-12) << "position " << p;
  }
  EXPECT_EQ(len, t);
}

// Several sequences in step through one time-major cache: two positions, then one at a time.
TEST_F(GradCheck, BatchedAttentionCacheAgrees) {
  const int64_t n = 3, t = 5, heads = 2, d = 4;
  Tensor qkv = random({n, t, 3 * d}, -2, 2);
  TapeScope none(ctx_, nullptr);
  const Tensor y = ops::causal_self_attention(ctx_, Var(qkv), heads).value().clone();
  Tensor cache = ctx_.zeros({t, n, 3 * d}, DType::kF64);
  int64_t len = 0;
  for (int64_t p = 0; p < t;) {
    const int64_t step = p == 0 ? 2 : 1;
    Tensor part = ctx_.empty({n, step, 3 * d}, DType::kF64);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t s = 0; s < step; ++s)
        for (int64_t j = 0; j < 3 * d; ++j) part.set((i * step + s) * 3 * d + j, qkv.at((i * t + p + s) * 3 * d + j));
    const Tensor out = ops::cached_causal_self_attention(ctx_, part, heads, cache, len);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t s = 0; s < step; ++s)
        for (int64_t j = 0; j < d; ++j)
          EXPECT_NEAR(out.at((i * step + s) * d + j), y.at((i * t + p + s) * d + j), 1e-12)
              << "sequence " << i << " position " << p + s;
    p += step;
  }
}

Tensor lengths(Context& ctx, std::vector<int32_t> v) {
  Tensor t = ctx.empty({static_cast<int64_t>(v.size())}, DType::kI32);
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}

TEST_F(GradCheck, PaddedSelfAttention) {
  const int64_t t = 5, heads = 2, dh = 2;
  const Tensor key_len = lengths(ctx_, {5, 3, 1});
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "bidirectional");
    expect_match(
        [&](Context& c, const std::vector<Var>& v) { return ops::self_attention(c, v[0], heads, causal, &key_len); },
        {random({3, t, 3 * heads * dh}, -2, 2)});
  }
}

TEST_F(GradCheck, CrossAttention) {
  const int64_t tq = 3, tk = 4, heads = 2, dh = 2, d = heads * dh;
  const Tensor key_len = lengths(ctx_, {4, 2});
  expect_match([&](Context& c, const std::vector<Var>& v) { return ops::cross_attention(c, v[0], v[1], heads, &key_len); },
               {random({2, tq, d}, -2, 2), random({2, tk, 2 * d}, -2, 2)});
}

// Keys past a sequence's length change nothing (and the fully visible sequence is unmasked).
TEST_F(GradCheck, PaddingIsInvisible) {
  const int64_t tq = 3, tk = 4, heads = 2, d = 4;
  const Tensor key_len = lengths(ctx_, {4, 2});
  Tensor q = random({2, tq, d}, -2, 2), kv = random({2, tk, 2 * d}, -2, 2);
  TapeScope none(ctx_, nullptr);
  const Tensor y = ops::cross_attention(ctx_, Var(q), Var(kv), heads, &key_len).value().clone();
  Tensor changed = kv.clone();
  for (int64_t p = 2; p < tk; ++p)
    for (int64_t j = 0; j < 2 * d; ++j) changed.set(((1 * tk) + p) * 2 * d + j, 7.0);
  const Tensor y2 = ops::cross_attention(ctx_, Var(q), Var(changed), heads, &key_len).value();
  for (int64_t i = 0; i < 2 * tq * d; ++i) EXPECT_EQ(y.at(i), y2.at(i)) << i;
  const Tensor all = ops::cross_attention(ctx_, Var(q), Var(kv), heads, nullptr).value();
  for (int64_t i = 0; i < tq * d; ++i) EXPECT_EQ(y.at(i), all.at(i)) << "sequence 0 sees every key";
}

// Decoding's gathered attention equals cross-attention over the rows it names: rows in any
// order and repeated (a beam's shared ancestry), keys and values at offsets of wider rows,
// queries in the first columns of wider rows, and a query that sees no key gives 0.
TEST_F(GradCheck, GatheredAttentionIsCrossAttentionOverItsRows) {
  const int64_t n = 4, m = 7, t = 5, heads = 2, d = 4, w = 3 * d;
  const Tensor table = random({m, w}, -2, 2), q = random({n, d + 3}, -2, 2);
  const std::vector<std::vector<int32_t>> rows = {{6, 0, 3}, {2, 2, 2, 5, 1}, {}, {4}};
  Tensor index = ctx_.zeros({n, t}, DType::kI32), len = ctx_.empty({n}, DType::kI32);
  for (int64_t r = 0; r < n; ++r) {
    len.data<int32_t>()[r] = static_cast<int32_t>(rows[r].size());
    for (size_t j = 0; j < rows[r].size(); ++j) index.data<int32_t>()[r * t + j] = rows[r][j];
  }
  TapeScope none(ctx_, nullptr);
  const Tensor y = ops::gathered_attention(ctx_, q, {table, d, 2 * d, index, len}, d, heads);
  ASSERT_EQ(y.shape(), (Shape{n, d}));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t k = static_cast<int64_t>(rows[r].size());
    if (k == 0) {
      for (int64_t j = 0; j < d; ++j) EXPECT_EQ(y.at(r * d + j), 0.0) << "a query that sees no key";
      continue;
    }
    Tensor qr = ctx_.empty({1, 1, d}, DType::kF64), kv = ctx_.empty({1, k, 2 * d}, DType::kF64);
    for (int64_t j = 0; j < d; ++j) qr.set(j, q.at(r * (d + 3) + j));
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < 2 * d; ++j) kv.set(p * 2 * d + j, table.at(rows[r][p] * w + d + j));
    const Tensor want = ops::cross_attention(ctx_, Var(qr), Var(kv), heads).value();
    for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(y.at(r * d + j), want.at(j), 1e-12) << "query " << r << " column " << j;
  }
}

// A gradcheck that must fail: a deliberately wrong backward is caught.
TEST_F(GradCheck, CatchesAWrongBackward) {
  Fn wrong = [](Context& ctx, const std::vector<Var>& v) {
    Tensor y = v[0].value().clone();
    for (int64_t i = 0; i < y.numel(); ++i) y.set(i, 2 * y.at(i));
    Var x = v[0];
    return record_op(ctx, {x}, Var(y),
                     [&ctx, x](const Tensor& g) { x.accumulate_grad(ctx, g.clone()); });  // should be 2g
  };
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter catcher(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    expect_match(wrong, {random({3})});
  }
  ASSERT_EQ(failures.size(), 3);
  EXPECT_NE(std::string(failures.GetTestPartResult(0).message()).find("input 0"), std::string::npos);
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

TEST_F(GradCheck, SyncBatchNormOnOneRank) {
  ctx_.set_cross_rank_sum([](Tensor&) {});  // one rank: the sums are already global
  for (Shape s : {Shape{5, 3}, Shape{3, 2, 3, 4}}) {
    const int64_t c = s[1];
    Tensor rm = random({c}), rv = random({c}, 0.5, 2);
    expect_match(
        [&rm, &rv](Context& ctx, const std::vector<Var>& v) {
          return ops::sync_batch_norm(ctx, v[0], v[1], v[2], rm, rv, 0.1f, 1e-5f, true);
        },
        {random(s), random({c}), random({c})});
  }
  ctx_.set_cross_rank_sum(nullptr);
}

}  // namespace
}  // namespace ty
