// One conformance harness for every kernel backend: each case is written once and runs on
// every target — the host's kernels (oneDNN, with the reference backend for the families it
// lacks) and, where a CUDA device is present, the CUDA backend in f32, bf16 and fp16 —
// against the reference backend, on the same f32 inputs, by one error formula (normalized
// error, per-case tolerance; NaN/Inf fail; outputs start poisoned with NaN so an unwritten
// element shows). A case whose family the target routes to the reference backend itself
// skips (nothing to compare). Targets without their device skip.
#include <cmath>
#include <functional>
#include <random>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/context.h"
#include "tests/support/backend_compare.h"

namespace ty {
namespace {

struct Target {
  std::string name;
  ContextOptions options;
  double rounding = 0;  // the error 16-bit inputs add to matrix products and convolutions
};
void PrintTo(const Target& t, std::ostream* os) { *os << t.name; }

std::vector<Target> targets() {
  const Device gpu{DeviceKind::kCUDA, 0};
  ContextOptions bf16{gpu}, fp16{gpu};
  bf16.compute = DType::kBF16;
  fp16.compute = DType::kF16;
  return {
      {"cpu", ContextOptions{}}, {"cuda", ContextOptions{gpu}}, {"cuda_bf16", bf16, 1e-2}, {"cuda_fp16", fp16, 2e-3}};
}

class Conformance : public ::testing::TestWithParam<Target> {
 protected:
  // A case: runs kernels of one family through `k` on tensors put where they belong by `on`.
  using Place = std::function<Tensor(const Tensor&)>;
  using Run = std::function<std::vector<Tensor>(Kernels& k, const Place& on)>;

  void SetUp() override {
    ContextOptions ref;
    ref.use_reference_kernels = true;
    reference_ = std::make_unique<Context>(ref);
    auto ctx = Context::create(GetParam().options);
    if (!ctx.ok()) GTEST_SKIP() << GetParam().name << ": " << ctx.status().message();
    target_ = std::move(*ctx);
  }

  Tensor random(Shape s, double lo = -1, double hi = 1) { return random_tensor(std::move(s), rng_, lo, hi); }
  static Tensor poisoned(Shape s) { return poisoned_tensor(std::move(s)); }

  void conform(KernelFamily family, const std::string& what, const Run& run, double tol = 1e-5) {
    SCOPED_TRACE(what);
    Kernels& k = target_->kernels(DType::kF32);
    if (k.backend(family) == nullptr)
      GTEST_SKIP() << GetParam().name << " has no " << kernel_family_name(family) << " kernels yet";
    if (k.backend(family)->name() == "reference")
      GTEST_SKIP() << kernel_family_name(family) << " kernels run on the reference backend on " << GetParam().name;
    if (family == KernelFamily::kDense || family == KernelFamily::kConv) tol = std::max(tol, GetParam().rounding);
    std::vector<Tensor> want = run(reference_->kernels(DType::kF32), [](const Tensor& t) { return t.clone(); });
    std::vector<Tensor> got =
        run(k, [&](const Tensor& t) { return target_->on_gpu() ? target_->to_device(t) : t.clone(); });
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(normalized_error_within(got[i].host(), want[i], tol))
          << "output " << i << " of " << k.backend(family)->name() << " on " << GetParam().name;
  }

  std::mt19937 rng_{99};
  std::unique_ptr<Context> reference_, target_;
};

TEST_P(Conformance, Gemm) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f})
        for (bool with_bias : {false, true}) {
          const int64_t m = 37, n = 50, k = 129;
          Tensor a = ta ? random({k, m}) : random({m, k}), b = tb ? random({n, k}) : random({k, n});
          Tensor c0 = random({m, n}), bias = random({n});
          conform(KernelFamily::kDense, "gemm", [&](Kernels& be, const Place& on) {
            Tensor c = on(beta == 0 ? poisoned({m, n}) : c0), bd = on(bias);
            be.dense().gemm(ta, tb, on(a), on(b), c, beta, with_bias ? &bd : nullptr);
            return std::vector<Tensor>{c};
          });
        }
}

// Weight-gradient shapes (a transposed, a long sum): large enough that a backend may move an
// operand first (the oneDNN backend does), with the wide and the narrow result.
TEST_P(Conformance, GemmTransposedLarge) {
  for (auto [m, n] : {std::pair<int64_t, int64_t>{300, 70}, {70, 300}})
    for (float beta : {0.f, 1.f}) {
      const int64_t k = 600;
      Tensor a = random({k, m}), b = random({k, n}), c0 = random({m, n});
      conform(KernelFamily::kDense, "gemm (trans_a, large)", [&](Kernels& be, const Place& on) {
        Tensor c = on(beta == 0 ? poisoned({m, n}) : c0);
        be.dense().gemm(true, false, on(a), on(b), c, beta);
        return std::vector<Tensor>{c};
      });
    }
}

TEST_P(Conformance, GemmBatched) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        const int64_t batch = 6, m = 13, n = 17, k = 21;
        Tensor a = ta ? random({batch, k, m}) : random({batch, m, k}),
               b = tb ? random({batch, n, k}) : random({batch, k, n});
        Tensor c0 = random({batch, m, n});
        conform(KernelFamily::kDense, "gemm_batched", [&](Kernels& be, const Place& on) {
          Tensor c = on(beta == 0 ? poisoned({batch, m, n}) : c0);
          be.dense().gemm_batched(ta, tb, on(a), on(b), c, beta);
          return std::vector<Tensor>{c};
        });
      }
}

TEST_P(Conformance, Conv2d) {
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1})
      for (bool bias : {false, true}) {
        ConvGeom g{3, 4, 9, 8, 6, 3, 3, 0, 0, stride, stride, pad, pad};
        g.p = (g.h + 2 * pad - g.r) / stride + 1;
        g.q = (g.w + 2 * pad - g.s) / stride + 1;
        Tensor x = random({g.n, g.c, g.h, g.w}), w = random({g.k, g.c, g.r, g.s}), b = random({g.k});
        Tensor dy = random({g.n, g.k, g.p, g.q});
        conform(
            KernelFamily::kConv, "conv2d",
            [&](Kernels& be, const Place& on) {
              Tensor y = on(poisoned({g.n, g.k, g.p, g.q})), dx = on(poisoned(x.shape()));
              Tensor dw = on(poisoned(w.shape())), db = on(poisoned({g.k}));
              Tensor xd = on(x), wd = on(w), bd = on(b), dyd = on(dy);
              be.conv().conv2d_forward(g, xd, wd, bias ? &bd : nullptr, y);
              be.conv().conv2d_backward_data(g, dyd, wd, dx);
              be.conv().conv2d_backward_weights(g, xd, dyd, dw, bias ? &db : nullptr);
              std::vector<Tensor> out{y, dx, dw};
              if (bias) out.push_back(db);
              return out;
            },
            1e-4);
      }
}

TEST_P(Conformance, Pool2d) {
  // Overlapping windows (3, stride 2), tiling ones (2, 2, with an uncovered last row and
  // column) and ones with gaps (2, stride 3); padded and not.
  for (auto [k, stride] : {std::pair<int64_t, int64_t>{3, 2}, {2, 2}, {2, 3}})
    for (bool max : {true, false})
      for (int64_t pad : {0, 1}) {
        PoolGeom g{2, 3, 9, 7, 0, 0, k, k, stride, stride, pad, pad, max};
        g.p = (g.h + 2 * pad - g.kh) / g.stride_h + 1;
        g.q = (g.w + 2 * pad - g.kw) / g.stride_w + 1;
        Tensor x = random({g.n, g.c, g.h, g.w}), dy = random({g.n, g.c, g.p, g.q});
        conform(KernelFamily::kConv, max ? "max pool" : "avg pool", [&](Kernels& be, const Place& on) {
          Tensor y = on(poisoned({g.n, g.c, g.p, g.q})), dx = on(poisoned(x.shape())), ws;
          be.conv().pool2d_forward(g, on(x), y, &ws);
          be.conv().pool2d_backward(g, on(dy), ws, dx);
          return std::vector<Tensor>{y, dx};
        });
      }
}

TEST_P(Conformance, EltwiseAndSoftmax) {
  Tensor x = random({13, 37}, -4, 4), dy = random({13, 37});
  for (Eltwise kind : {Eltwise::kRelu, Eltwise::kLeakyRelu, Eltwise::kGelu, Eltwise::kTanh, Eltwise::kSigmoid})
    conform(KernelFamily::kActivation, "eltwise " + std::to_string(static_cast<int>(kind)),
            [&](Kernels& be, const Place& on) {
              Tensor y = on(poisoned(x.shape())), dx = on(poisoned(x.shape())), xd = on(x);
              be.activation().eltwise_forward(kind, 0.05f, xd, y);
              be.activation().eltwise_backward(kind, 0.05f, xd, on(dy), dx);
              return std::vector<Tensor>{y, dx};
            });
  for (bool log : {false, true})
    conform(KernelFamily::kActivation, log ? "log_softmax" : "softmax", [&](Kernels& be, const Place& on) {
      Tensor y = on(poisoned(x.shape())), dx = on(poisoned(x.shape()));
      be.activation().softmax_forward(log, on(x), y);
      be.activation().softmax_backward(log, y, on(dy), dx);
      return std::vector<Tensor>{y, dx};
    });
}

TEST_P(Conformance, BatchNorm) {
  for (bool training : {true, false})
    for (Shape s : {Shape{6, 4}, Shape{3, 4, 5, 3}}) {
      Tensor x = random(s, -2, 3), dy = random(s), g = random({4}), b = random({4});
      Tensor rm = random({4}), rv = random({4}, 0.5, 2);
      conform(
          KernelFamily::kNorm, training ? "batch norm (training)" : "batch norm (running statistics)",
          [&](Kernels& be, const Place& on) {
            Tensor y = on(poisoned(s)), dx = on(poisoned(s)), dg = on(poisoned({4})), db = on(poisoned({4}));
            Tensor mean = on(training ? poisoned({4}) : rm), var = on(training ? poisoned({4}) : rv);
            Tensor xd = on(x), gd = on(g);
            be.norm().batchnorm_forward(xd, gd, on(b), 1e-5f, training, mean, var, y);
            be.norm().batchnorm_backward(xd, on(dy), gd, mean, var, 1e-5f, training, dx, dg, db);
            return std::vector<Tensor>{y, mean, var, dx, dg, db};
          },
          1e-4);
    }
}

TEST_P(Conformance, LayerNorm) {
  Tensor x = random({9, 70}, -2, 3), dy = random({9, 70}), g = random({70}), b = random({70});
  conform(
      KernelFamily::kNorm, "layer norm",
      [&](Kernels& be, const Place& on) {
        Tensor y = on(poisoned(x.shape())), dx = on(poisoned(x.shape())), mean = on(poisoned({9}));
        Tensor var = on(poisoned({9})), dg = on(poisoned({70})), db = on(poisoned({70})), xd = on(x), gd = on(g);
        be.norm().layernorm_forward(xd, gd, on(b), 1e-5f, y, mean, var);
        be.norm().layernorm_backward(xd, on(dy), gd, mean, var, 1e-5f, dx, dg, db);
        return std::vector<Tensor>{y, mean, var, dx, dg, db};
      },
      1e-4);
}

TEST_P(Conformance, PointwiseArithmeticAndReductions) {
  Tensor a = random({33, 65}), b = random({33, 65}), s = random({1});
  conform(KernelFamily::kPointwise, "add, mul, accumulate, axpby", [&](Kernels& be, const Place& on) {
    Tensor sum = on(poisoned({33, 65})), prod = on(poisoned({33, 65})), acc = on(a), ab = on(b), y = on(b);
    be.pointwise().add(on(a), ab, sum);
    be.pointwise().mul(on(a), ab, prod);
    be.pointwise().accumulate(acc, ab);
    be.pointwise().axpby(0.3f, on(a), -0.7f, y);
    return std::vector<Tensor>{sum, prod, acc, y};
  });
  Tensor img = random({5, 7, 6, 9}), cb = random({7});
  conform(KernelFamily::kPointwise, "add_channel_bias, channel_sums", [&](Kernels& be, const Place& on) {
    Tensor y = on(poisoned(img.shape())), sums = on(poisoned({7})), xd = on(img);
    be.pointwise().add_channel_bias(xd, on(cb), y);
    be.pointwise().channel_sums(xd, sums);
    return std::vector<Tensor>{y, sums};
  });
  conform(KernelFamily::kPointwise, "sum, broadcast_scalar, column_sums", [&](Kernels& be, const Place& on) {
    Tensor total = on(poisoned({1})), spread = on(poisoned({33, 65})), cols = on(poisoned({65}));
    be.pointwise().sum(on(a), 0.25, total);
    be.pointwise().broadcast_scalar(on(s), -2.0, spread);
    be.pointwise().column_sums(on(a), cols);
    return std::vector<Tensor>{total, spread, cols};
  });
  Tensor x = random({7, 300});
  conform(
      KernelFamily::kPointwise, "dropout",
      [&](Kernels& be, const Place& on) {
        Tensor mask = on(poisoned(x.shape())), y = on(poisoned(x.shape()));
        be.pointwise().dropout(on(x), 0.3f, 11, 5, 4096, mask, y);
        Tensor skewed_mask = on(poisoned(x.shape())), skewed_y = on(poisoned(x.shape()));
        be.pointwise().dropout(on(x), 0.3f, 11, 5, 4099, skewed_mask, skewed_y);  // not a whole block
        return std::vector<Tensor>{mask, y, skewed_mask, skewed_y};
      },
      0);
}

TEST_P(Conformance, Embedding) {
  Tensor table = random({50, 33}), dout = random({4, 9, 33}), start = random({50, 33});
  Tensor ids = Tensor::empty(host_memory(), {4, 9}, DType::kI32);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int32_t>()[i] = static_cast<int32_t>((i * 7) % 50 / 2);  // repeats
  conform(KernelFamily::kEmbedding, "gather_rows, scatter_add_rows", [&](Kernels& be, const Place& on) {
    Tensor out = on(poisoned({4, 9, 33})), dtable = on(start);  // (added to, not overwritten)
    be.embedding().gather_rows(on(table), on(ids), out);
    be.embedding().scatter_add_rows(on(dout), on(ids), dtable);
    return std::vector<Tensor>{out, dtable};
  });
}

TEST_P(Conformance, RecurrentSteps) {
  const int64_t n = 7, h = 19;
  Tensor seq = random({5, n, 11}), xw4 = random({n, 4 * h}, -3, 3), hw4 = random({n, 4 * h}, -3, 3),
         xw3 = random({n, 3 * h}, -3, 3), hw3 = random({n, 3 * h}, -3, 3), prev = random({n, h}), dh = random({n, h}),
         dc0 = random({n, h});
  conform(KernelFamily::kRecurrent, "swap_axes01, lstm steps, gru steps", [&](Kernels& be, const Place& on) {
    RecurrentKernels& k = be.recurrent();
    Tensor swapped = on(poisoned({n, 5, 11}));
    k.swap_axes01(on(seq), swapped);
    Tensor act = on(poisoned({n, 4 * h})), c = on(poisoned({n, h})), hh = on(poisoned({n, h}));
    k.lstm_step_forward(on(xw4), on(hw4), on(prev), act, c, hh);
    Tensor dc = on(dc0), dg = on(poisoned({n, 4 * h}));
    k.lstm_step_backward(act, on(prev), c, on(dh), dc, dg);
    Tensor gact = on(poisoned({n, 4 * h})), gh = on(poisoned({n, h}));
    k.gru_step_forward(on(xw3), on(hw3), on(prev), gact, gh);
    Tensor dxw = on(poisoned({n, 3 * h})), dhw = on(poisoned({n, 3 * h})), dprev = on(poisoned({n, h}));
    k.gru_step_backward(gact, on(prev), on(dh), dxw, dhw, dprev);
    return std::vector<Tensor>{swapped, act, c, hh, dc, dg, gact, gh, dxw, dhw, dprev};
  });
}

TEST_P(Conformance, Attention) {
  const int64_t n = 3, t = 9, heads = 4, dh = 5, w = 3 * heads * dh, tk = 12;
  Tensor x = random({n, t, w}), per_head = random({n * heads, t, dh});
  Tensor scores = random({n * heads, t, tk}, -4, 4), dp = random({n * heads, t, tk});
  Tensor key_len = Tensor::empty(host_memory(), {n}, DType::kI32);  // padding; sequence 2 sees no key
  for (int64_t i = 0; i < n; ++i) key_len.data<int32_t>()[i] = static_cast<int32_t>(i == 2 ? 0 : 7 + 3 * i);
  // Query r of n·t sees r % 6 rows (query 0 none), spread over the table and repeated.
  Tensor gather_index = Tensor::empty(host_memory(), {n * t, 6}, DType::kI32);
  Tensor gather_len = Tensor::empty(host_memory(), {n * t}, DType::kI32);
  for (int64_t r = 0; r < n * t; ++r) {
    gather_len.data<int32_t>()[r] = static_cast<int32_t>(r % 6);
    for (int64_t j = 0; j < 6; ++j) gather_index.data<int32_t>()[r * 6 + j] = static_cast<int32_t>((r * 5 + j * 7) % (n * t));
  }
  conform(KernelFamily::kAttention, "heads_from, heads_into, masked softmax, gathered attention", [&](Kernels& be, const Place& on) {
    AttentionKernels& k = be.attention();
    Tensor from = on(poisoned({n * heads, t, dh})), into = on(x);  // (the other columns kept)
    k.heads_from(on(x), heads * dh, heads, from);
    k.heads_into(on(per_head), 2 * heads * dh, heads, into);
    Tensor p = on(poisoned({n * heads, t, tk})), ds = on(poisoned({n * heads, t, tk}));
    k.causal_softmax_forward(on(scores), 0.37f, p);  // t < tk: a cache of 3 keys before
    k.masked_softmax_backward(p, on(dp), 0.37f, ds);
    Tensor padded = on(poisoned({n * heads, t, tk})), both = on(poisoned({n * heads, t, tk}));
    const Tensor lens = on(key_len);
    k.masked_softmax_forward(on(scores), 0.37f, false, &lens, heads, padded);
    k.masked_softmax_forward(on(scores), 0.37f, true, &lens, heads, both);
    // Decoding's gathered attention: x's rows as the table, queries at its start.
    Tensor gathered = on(poisoned({n * t, heads * dh}));
    k.gathered_attention(on(x.reshape({n * t, w})), on(x.reshape({n * t, w})), heads * dh, 2 * heads * dh,
                         on(gather_index), on(gather_len), heads, 0.37f, gathered);
    return std::vector<Tensor>{from, into, p, ds, padded, both, gathered};
  });
}

TEST_P(Conformance, Losses) {
  const int64_t n = 37, c = 11;
  Tensor logits = random({n, c}), target = random({n, c}, 0, 1), dloss = random({1});
  Tensor labels = Tensor::empty(host_memory(), {n}, DType::kI32);
  Tensor ce_labels = Tensor::empty(host_memory(), {n}, DType::kI32);  // every fifth row ignored (-1)
  for (int64_t i = 0; i < n; ++i) {
    labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7) % c);
    ce_labels.data<int32_t>()[i] = i % 5 == 3 ? -1 : labels.data<int32_t>()[i];
  }
  for (float smoothing : {0.f, 0.1f})
    conform(KernelFamily::kLoss, "cross_entropy", [&](Kernels& be, const Place& on) {
      Tensor logp = on(poisoned({n, c})), loss = on(poisoned({1})), dx = on(poisoned({n, c})), ld = on(ce_labels);
      be.activation().softmax_forward(true, on(logits), logp);
      be.loss().cross_entropy_forward(logp, ld, smoothing, loss);
      be.loss().cross_entropy_backward(logp, ld, smoothing, on(dloss), dx);
      return std::vector<Tensor>{loss, dx};
    });
  conform(KernelFamily::kLoss, "mse, bce_with_logits, one_hot", [&](Kernels& be, const Place& on) {
    Tensor mse = on(poisoned({1})), dmse = on(poisoned({n, c})), bce = on(poisoned({1})), dbce = on(poisoned({n, c}));
    Tensor hot = on(poisoned({n, c})), x = on(logits), t = on(target), dl = on(dloss);
    be.loss().mse_forward(x, t, mse);
    be.loss().mse_backward(x, t, dl, dmse);
    be.loss().bce_forward(x, t, bce);
    be.loss().bce_backward(x, t, dl, dbce);
    be.pointwise().one_hot(on(labels), hot);
    return std::vector<Tensor>{mse, dmse, bce, dbce, hot};
  });
}

TEST_P(Conformance, OptimizerUpdatesAndClipping) {
  Tensor p0 = random({1000}), g = random({1000}), m0 = random({1000}), v0 = random({1000}, 0, 1);
  conform(KernelFamily::kOptimizer, "sgd_update, adam_update", [&](Kernels& be, const Place& on) {
    Tensor p = on(p0), buf = on(m0), q = on(p0), m = on(m0), v = on(v0), gd = on(g);
    be.optimizer().sgd_update(p, gd, &buf, SgdStep{0.1f, 0.01f, 0.9f, true, false, true});
    be.optimizer().adam_update(q, gd, m, v, AdamStep{0.9f, 0.999f, 1e-8f, 0.01f, 1.f, 0.999f, 0.f});
    return std::vector<Tensor>{p, buf, q, m, v};
  });
  for (double max_norm : {1.0, 1e6})  // clipped, and left alone
    conform(KernelFamily::kOptimizer, "add_sum_squares, clip_by_norm", [&](Kernels& be, const Place& on) {
      Tensor sq = Tensor::empty(host_memory(), {1}, DType::kF64);
      sq.set(0, 0.5);
      sq = on(sq);
      Tensor g1 = on(p0), g2 = on(g);
      be.optimizer().add_sum_squares(g1, sq);
      be.optimizer().add_sum_squares(g2, sq);
      be.optimizer().clip_by_norm(g1, sq, max_norm);
      be.optimizer().clip_by_norm(g2, sq, max_norm);
      return std::vector<Tensor>{sq, g1, g2};
    });
}

// The harness itself must notice a wrong kernel and an unwritten element.
TEST_P(Conformance, HarnessCatchesWrongAndUnwrittenOutputs) {
  Tensor x = random({4, 4});
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter catcher(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    conform(KernelFamily::kDense, "scaled", [&](Kernels& be, const Place&) {
      Tensor y = x.clone();
      if (be.backend(KernelFamily::kDense)->name() != "reference") y.set(3, y.at(3) * 2 + 1);
      return std::vector<Tensor>{y};
    });
    conform(KernelFamily::kDense, "unwritten", [&](Kernels& be, const Place&) {
      Tensor y = x.clone();
      if (be.backend(KernelFamily::kDense)->name() != "reference") y.set(5, std::nan(""));
      return std::vector<Tensor>{y};
    });
  }
  EXPECT_EQ(failures.size(), 2);
}

INSTANTIATE_TEST_SUITE_P(Targets, Conformance, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<Target>& info) { return info.param.name; });

}  // namespace
}  // namespace ty
