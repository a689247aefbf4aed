// The oneDNN backend against the reference backend: the same kernel on the same f32 inputs,
// compared by normalized error with a per-kernel tolerance. Outputs start poisoned (NaN) so
// an element a kernel forgot to write is caught, and NaN/Inf in results fail.
#include <cmath>
#include <functional>
#include <random>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "runtime/backend/cpu/onednn_backend.h"
#include "runtime/backend/reference/reference_backend.h"
#include "tests/support/backend_compare.h"

namespace ty {
namespace {

class Conformance : public ::testing::Test {
 protected:
  using Run = std::function<std::vector<Tensor>(KernelBackend&)>;

  Tensor random(Shape s, double lo = -1, double hi = 1) { return random_tensor(std::move(s), rng_, lo, hi); }
  static Tensor poisoned(Shape s) { return poisoned_tensor(std::move(s)); }

  void conform(const std::string& what, const Run& run, double tol = 1e-5) {
    SCOPED_TRACE(what);
    std::vector<Tensor> fast = run(onednn_), ref = run(reference_);
    ASSERT_EQ(fast.size(), ref.size());
    for (size_t k = 0; k < fast.size(); ++k)
      EXPECT_TRUE(normalized_error_within(fast[k], ref[k], tol)) << "output " << k;
  }

  std::mt19937 rng_{99};
  OnednnBackend onednn_;
  ReferenceBackend reference_;
};

TEST_F(Conformance, Gemm) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        const int64_t m = 7, n = 5, k = 9;
        Tensor a = ta ? random({k, m}) : random({m, k});
        Tensor b = tb ? random({n, k}) : random({k, n});
        Tensor c0 = random({m, n});
        conform("gemm", [&](KernelBackend& be) {
          Tensor c = beta == 0 ? poisoned({m, n}) : c0.clone();
          be.gemm(ta, tb, a, b, c, beta);
          return std::vector<Tensor>{c};
        });
      }
}

TEST_F(Conformance, Conv2d) {
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1})
      for (bool bias : {false, true}) {
        ConvGeom g{3, 4, 9, 8, 6, 3, 3, 0, 0, stride, stride, pad, pad};
        g.p = (g.h + 2 * pad - g.r) / stride + 1;
        g.q = (g.w + 2 * pad - g.s) / stride + 1;
        Tensor x = random({g.n, g.c, g.h, g.w}), w = random({g.k, g.c, g.r, g.s}), b = random({g.k});
        Tensor dy = random({g.n, g.k, g.p, g.q});
        conform("conv2d", [&](KernelBackend& be) {
          Tensor y = poisoned({g.n, g.k, g.p, g.q}), dx = poisoned(x.shape()), dw = poisoned(w.shape()),
                 db = poisoned({g.k});
          be.conv2d_forward(g, x, w, bias ? &b : nullptr, y);
          be.conv2d_backward_data(g, dy, w, dx);
          be.conv2d_backward_weights(g, x, dy, dw, bias ? &db : nullptr);
          std::vector<Tensor> out{y, dx, dw};
          if (bias) out.push_back(db);
          return out;
        });
      }
}

TEST_F(Conformance, Pool2d) {
  for (bool max : {true, false})
    for (int64_t pad : {0, 1}) {
      PoolGeom g{2, 3, 8, 7, 0, 0, 3, 3, 2, 2, pad, pad, max};
      g.p = (g.h + 2 * pad - g.kh) / g.stride_h + 1;
      g.q = (g.w + 2 * pad - g.kw) / g.stride_w + 1;
      Tensor x = random({g.n, g.c, g.h, g.w}), dy = random({g.n, g.c, g.p, g.q});
      conform(max ? "maxpool" : "avgpool", [&](KernelBackend& be) {
        Tensor y = poisoned({g.n, g.c, g.p, g.q}), dx = poisoned(x.shape()), ws;
        be.pool2d_forward(g, x, y, &ws);
        be.pool2d_backward(g, dy, ws, dx);
        return std::vector<Tensor>{y, dx};
      });
    }
}

TEST_F(Conformance, Eltwise) {
  Tensor x = random({6, 33}, -4, 4), dy = random({6, 33});
  for (Eltwise k : {Eltwise::kRelu, Eltwise::kLeakyRelu, Eltwise::kGelu, Eltwise::kTanh, Eltwise::kSigmoid})
    conform(
        "eltwise " + std::to_string(static_cast<int>(k)),
        [&](KernelBackend& be) {
          Tensor y = poisoned(x.shape()), dx = poisoned(x.shape());
          be.eltwise_forward(k, 0.05f, x, y);
          be.eltwise_backward(k, 0.05f, x, dy, dx);
          return std::vector<Tensor>{y, dx};
        },
        1e-5);
}

TEST_F(Conformance, Softmax) {
  Tensor x = random({5, 17}, -5, 5), dy = random({5, 17});
  for (bool log : {false, true})
    conform(log ? "log_softmax" : "softmax", [&](KernelBackend& be) {
      Tensor y = poisoned(x.shape()), dx = poisoned(x.shape());
      be.softmax_forward(log, x, y);
      be.softmax_backward(log, y, dy, dx);
      return std::vector<Tensor>{y, dx};
    });
}

TEST_F(Conformance, BatchNorm) {
  for (bool training : {true, false})
    for (Shape s : {Shape{6, 4}, Shape{3, 4, 5, 3}}) {
      Tensor x = random(s, -2, 3), dy = random(s), g = random({4}), b = random({4});
      Tensor rm = random({4}), rv = random({4}, 0.5, 2);
      conform(
          "batchnorm",
          [&](KernelBackend& be) {
            Tensor y = poisoned(s), dx = poisoned(s), dg = poisoned({4}), db = poisoned({4});
            Tensor mean = training ? poisoned({4}) : rm, var = training ? poisoned({4}) : rv;
            be.batchnorm_forward(x, g, b, 1e-5f, training, mean, var, y);
            be.batchnorm_backward(x, dy, g, mean, var, 1e-5f, training, dx, dg, db);
            return std::vector<Tensor>{y, mean, var, dx, dg, db};
          },
          1e-4);
    }
}

TEST_F(Conformance, LayerNorm) {
  Tensor x = random({7, 12}, -2, 3), dy = random({7, 12}), g = random({12}), b = random({12});
  conform(
      "layernorm",
      [&](KernelBackend& be) {
        Tensor y = poisoned(x.shape()), dx = poisoned(x.shape()), dg = poisoned({12}), db = poisoned({12});
        Tensor mean = poisoned({7}), var = poisoned({7});
        be.layernorm_forward(x, g, b, 1e-5f, y, mean, var);
        be.layernorm_backward(x, dy, g, mean, var, 1e-5f, dx, dg, db);
        return std::vector<Tensor>{y, mean, var, dx, dg, db};
      },
      1e-4);
}

// The harness itself must notice a wrong kernel and an unwritten element.
TEST_F(Conformance, HarnessCatchesWrongAndUnwrittenOutputs) {
  Tensor x = random({4, 4});
  ::testing::TestPartResultArray failures;
  {
    ::testing::ScopedFakeTestPartResultReporter catcher(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
    conform("scaled", [&](KernelBackend& be) {
      Tensor y = x.clone();
      if (be.name() == "onednn") y.set(3, y.at(3) * 2 + 1);
      return std::vector<Tensor>{y};
    });
    conform("unwritten", [&](KernelBackend& be) {
      Tensor y = x.clone();
      if (be.name() == "onednn") y.set(5, std::nan(""));
      return std::vector<Tensor>{y};
    });
  }
  EXPECT_EQ(failures.size(), 2);
}

}  // namespace
}  // namespace ty

namespace ty {
namespace {

// Channel bias and channel sums on a blocked tensor equal those on its plain copy.
TEST_F(Conformance, ChannelBiasAndSumsInTheBlockedLayout) {
  Tensor x = random({2, 32, 3, 5}), bias = random({32});
  Tensor plain_y = x.empty_like(), plain_sums = Tensor::empty({32});
  reference_.add_channel_bias(x, bias, plain_y);
  reference_.channel_sums(x, plain_sums);
  Tensor xb = x.with_layout(Layout::kBlocked16).empty_like();
  onednn_.convert_layout(x, xb);
  Tensor yb = xb.empty_like(), sums = poisoned({32}), y = x.empty_like();
  yb.fill(std::nan(""));
  onednn_.add_channel_bias(xb, bias, yb);
  onednn_.channel_sums(xb, sums);
  onednn_.convert_layout(yb, y);
  EXPECT_TRUE(normalized_error_within(y, plain_y, 0));
  EXPECT_TRUE(normalized_error_within(sums, plain_sums, 1e-6));
}

TEST_F(Conformance, LayoutConversionRoundTrips) {
  Tensor x = random({2, 32, 3, 5});
  conform(
      "to blocked and back",
      [&](KernelBackend& be) {
        Tensor b = x.with_layout(Layout::kBlocked16).empty_like(), back = x.empty_like();
        b.fill(std::nan(""));
        back.fill(std::nan(""));
        be.convert_layout(x, b);
        be.convert_layout(b, back);
        return std::vector<Tensor>{b, back};
      },
      0);
  Tensor b = x.with_layout(Layout::kBlocked16).empty_like();
  reference_.convert_layout(x, b);
  // Element (n=1, c=17, h=2, w=4) lands in block 1, lane 1.
  EXPECT_EQ(b.at(((1 * 2 + 1) * 15 + 2 * 5 + 4) * 16 + 1), x.at(((1 * 32 + 17) * 3 + 2) * 5 + 4));
}

}  // namespace
}  // namespace ty
