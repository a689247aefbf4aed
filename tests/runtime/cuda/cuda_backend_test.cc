// CudaBackend against the reference backend through the KernelBackend table: every kernel,
// forward and backward, on the same f32 inputs, by normalized error with a per-kernel
// tolerance; outputs start poisoned (NaN) on the device and NaN/Inf fail. Skips without a
// CUDA device; tests/device/check.sh runs it on one.
#include <cuda_runtime_api.h>

#include <cmath>
#include <functional>
#include <random>

#include "gtest/gtest.h"
#include "runtime/backend/cuda/cuda_backend.h"
#include "runtime/backend/reference/reference_backend.h"
#include "runtime/device_probe.h"
#include "tests/support/backend_compare.h"

namespace ty {
namespace {

class CudaConformance : public ::testing::Test {
 protected:
  // A kernel run: takes its backend and a function that puts a host tensor where that
  // backend wants it (identity for the reference, a device copy for CUDA).
  using Place = std::function<Tensor(const Tensor&)>;
  using Run = std::function<std::vector<Tensor>(KernelBackend&, const Place&)>;

  void SetUp() override {
    auto gpu = cuda_device(0);
    if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message();
    memory_ = std::make_unique<CachingDeviceAllocator>(0);
    device_alloc_ = std::make_shared<StreamAllocator>(*memory_, nullptr);
    auto b = CudaBackend::create(0, nullptr, *memory_, /*allow_tf32=*/false);
    ASSERT_TRUE(b.ok()) << b.status();
    cuda_ = std::move(*b);
  }

  Tensor random(Shape s, double lo = -1, double hi = 1) { return random_tensor(std::move(s), rng_, lo, hi); }
  static Tensor poisoned(Shape s) { return poisoned_tensor(std::move(s)); }
  Tensor to_device(const Tensor& h) {
    Tensor d = Tensor::empty(device_alloc_, h.shape(), h.dtype(), Device{DeviceKind::kCUDA, 0});
    EXPECT_EQ(cudaMemcpy(d.raw(), h.raw(), h.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
    return d;
  }
  static Tensor to_host(const Tensor& d) {
    if (d.device().kind == DeviceKind::kCPU) return d;
    Tensor h = Tensor::empty(d.shape(), d.dtype());
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(h.raw(), d.raw(), d.nbytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    return h;
  }

  void conform(const std::string& what, const Run& run, double tol = 1e-5) {
    SCOPED_TRACE(what);
    std::vector<Tensor> ref = run(reference_, [](const Tensor& t) { return t.clone(); });
    std::vector<Tensor> fast = run(*cuda_, [&](const Tensor& t) { return to_device(t); });
    ASSERT_EQ(fast.size(), ref.size());
    for (size_t k = 0; k < fast.size(); ++k)
      EXPECT_TRUE(normalized_error_within(to_host(fast[k]), ref[k], tol)) << "output " << k;
  }

  std::mt19937 rng_{7};
  ReferenceBackend reference_;
  std::unique_ptr<CachingDeviceAllocator> memory_;
  std::shared_ptr<Allocator> device_alloc_;
  std::unique_ptr<CudaBackend> cuda_;
};

TEST_F(CudaConformance, Gemm) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        const int64_t m = 37, n = 50, k = 129;
        Tensor a = ta ? random({k, m}) : random({m, k}), b = tb ? random({n, k}) : random({k, n});
        Tensor c0 = random({m, n}), bias = random({n});
        conform("gemm", [&](KernelBackend& be, const Place& on) {
          Tensor c = on(beta == 0 ? poisoned({m, n}) : c0), bb = on(bias);
          be.gemm(ta, tb, on(a), on(b), c, beta, &bb);
          return std::vector<Tensor>{c};
        });
      }
}

TEST_F(CudaConformance, Conv2dForwardAndBackward) {
  for (int64_t stride : {1, 2})
    for (int64_t pad : {0, 1})
      for (bool bias : {false, true}) {
        ConvGeom g{3, 4, 9, 8, 6, 3, 3, 0, 0, stride, stride, pad, pad};
        g.p = (g.h + 2 * pad - g.r) / stride + 1;
        g.q = (g.w + 2 * pad - g.s) / stride + 1;
        Tensor x = random({g.n, g.c, g.h, g.w}), w = random({g.k, g.c, g.r, g.s}), b = random({g.k});
        Tensor dy = random({g.n, g.k, g.p, g.q});
        conform(
            "conv2d",
            [&](KernelBackend& be, const Place& on) {
              Tensor y = on(poisoned({g.n, g.k, g.p, g.q})), dx = on(poisoned({g.n, g.c, g.h, g.w}));
              Tensor dw = on(poisoned({g.k, g.c, g.r, g.s})), db = on(poisoned({g.k}));
              Tensor xd = on(x), wd = on(w), bd = on(b), dyd = on(dy);
              be.conv2d_forward(g, xd, wd, bias ? &bd : nullptr, y);
              be.conv2d_backward_data(g, dyd, wd, dx);
              be.conv2d_backward_weights(g, xd, dyd, dw, bias ? &db : nullptr);
              std::vector<Tensor> out{y, dx, dw};
              if (bias) out.push_back(db);
              return out;
            },
            1e-4);
      }
}

TEST_F(CudaConformance, MaxAndAveragePooling) {
  // Overlapping windows (3, stride 2), tiling ones (2, 2: max pooling's gather path, with
  // an uncovered last row and column) and ones with gaps (2, stride 3); padded and not.
  for (auto [k, stride] : {std::pair<int64_t, int64_t>{3, 2}, {2, 2}, {2, 3}})
    for (bool max : {true, false})
      for (int64_t pad : {0, 1}) {
        PoolGeom g{2, 3, 9, 7, 0, 0, k, k, stride, stride, pad, pad, max};
        g.p = (g.h + 2 * pad - g.kh) / g.stride_h + 1;
        g.q = (g.w + 2 * pad - g.kw) / g.stride_w + 1;
        Tensor x = random({g.n, g.c, g.h, g.w}), dy = random({g.n, g.c, g.p, g.q});
        conform(max ? "max pool" : "avg pool", [&](KernelBackend& be, const Place& on) {
          Tensor y = on(poisoned({g.n, g.c, g.p, g.q})), dx = on(poisoned({g.n, g.c, g.h, g.w})), ws;
          be.pool2d_forward(g, on(x), y, &ws);
          be.pool2d_backward(g, on(dy), ws, dx);
          return std::vector<Tensor>{y, dx};
        });
      }
}

TEST_F(CudaConformance, EltwiseAndSoftmax) {
  Tensor x = random({13, 37}), dy = random({13, 37});
  for (Eltwise kind : {Eltwise::kRelu, Eltwise::kLeakyRelu, Eltwise::kGelu, Eltwise::kTanh, Eltwise::kSigmoid})
    conform("eltwise " + std::to_string(static_cast<int>(kind)), [&](KernelBackend& be, const Place& on) {
      Tensor y = on(poisoned({13, 37})), dx = on(poisoned({13, 37})), xd = on(x);
      be.eltwise_forward(kind, 0.1f, xd, y);
      be.eltwise_backward(kind, 0.1f, xd, on(dy), dx);
      return std::vector<Tensor>{y, dx};
    });
  for (bool log : {false, true})
    conform(log ? "log_softmax" : "softmax", [&](KernelBackend& be, const Place& on) {
      Tensor y = on(poisoned({13, 37})), dx = on(poisoned({13, 37}));
      be.softmax_forward(log, on(x), y);
      be.softmax_backward(log, y, on(dy), dx);
      return std::vector<Tensor>{y, dx};
    });
}

TEST_F(CudaConformance, BatchNormAndLayerNorm) {
  Tensor x = random({4, 6, 5, 3}), dy = random({4, 6, 5, 3}), gamma = random({6}), beta = random({6});
  Tensor mean0 = random({6}), var0 = random({6});
  for (int64_t i = 0; i < 6; ++i) var0.data<float>()[i] = 0.5f + std::fabs(var0.data<float>()[i]);
  for (bool training : {true, false})
    conform(
        training ? "batch norm (training)" : "batch norm (running statistics)",
        [&](KernelBackend& be, const Place& on) {
          Tensor y = on(poisoned(x.shape())), dx = on(poisoned(x.shape()));
          Tensor dg = on(poisoned({6})), db = on(poisoned({6}));
          Tensor mean = on(training ? poisoned({6}) : mean0), var = on(training ? poisoned({6}) : var0);
          Tensor xd = on(x), gd = on(gamma);
          be.batchnorm_forward(xd, gd, on(beta), 1e-5f, training, mean, var, y);
          be.batchnorm_backward(xd, on(dy), gd, mean, var, 1e-5f, training, dx, dg, db);
          return std::vector<Tensor>{y, mean, var, dx, dg, db};
        },
        1e-4);
  Tensor lx = random({9, 70}), ldy = random({9, 70}), lg = random({70}), lb = random({70});
  conform(
      "layer norm",
      [&](KernelBackend& be, const Place& on) {
        Tensor y = on(poisoned({9, 70})), dx = on(poisoned({9, 70})), mean = on(poisoned({9})), var = on(poisoned({9}));
        Tensor dg = on(poisoned({70})), db = on(poisoned({70})), xd = on(lx), gd = on(lg);
        be.layernorm_forward(xd, gd, on(lb), 1e-5f, y, mean, var);
        be.layernorm_backward(xd, on(ldy), gd, mean, var, 1e-5f, dx, dg, db);
        return std::vector<Tensor>{y, mean, var, dx, dg, db};
      },
      1e-4);
}

TEST_F(CudaConformance, ElementwiseArithmeticAndReductions) {
  Tensor a = random({33, 65}), b = random({33, 65}), s = random({1});
  conform("add, mul, accumulate, axpby", [&](KernelBackend& be, const Place& on) {
    Tensor sum = on(poisoned({33, 65})), prod = on(poisoned({33, 65})), acc = on(a), ab = on(b);
    be.add(on(a), ab, sum);
    be.mul(on(a), ab, prod);
    be.accumulate(acc, ab);
    Tensor y = on(b);
    be.axpby(0.3f, on(a), -0.7f, y);
    return std::vector<Tensor>{sum, prod, acc, y};
  });
  Tensor img = random({5, 7, 6, 9}), cb = random({7});
  conform("add_channel_bias, channel_sums", [&](KernelBackend& be, const Place& on) {
    Tensor y = on(poisoned({5, 7, 6, 9})), sums = on(poisoned({7}));
    Tensor xd = on(img);
    be.add_channel_bias(xd, on(cb), y);
    be.channel_sums(xd, sums);
    return std::vector<Tensor>{y, sums};
  });
  conform("sum, broadcast_scalar, column_sums", [&](KernelBackend& be, const Place& on) {
    Tensor total = on(poisoned({1})), spread = on(poisoned({33, 65})), cols = on(poisoned({65}));
    be.sum(on(a), 0.25, total);
    be.broadcast_scalar(on(s), -2.0, spread);
    be.column_sums(on(a), cols);
    return std::vector<Tensor>{total, spread, cols};
  });
  for (double max_norm : {1.0, 1e6})  // clipped, and left alone
    conform("add_sum_squares, clip_by_norm", [&](KernelBackend& be, const Place& on) {
      Tensor sq = Tensor::empty({1}, DType::kF64);
      sq.set(0, 0.5);
      sq = on(sq);
      Tensor g1 = on(a), g2 = on(b);
      be.add_sum_squares(g1, sq);
      be.add_sum_squares(g2, sq);
      be.clip_by_norm(g1, sq, max_norm);
      be.clip_by_norm(g2, sq, max_norm);
      return std::vector<Tensor>{sq, g1, g2};
    });
}

TEST_F(CudaConformance, LossesForwardAndBackward) {
  const int64_t n = 37, c = 11;
  Tensor logits = random({n, c}), target = random({n, c}, 0, 1), dloss = random({1});
  Tensor labels = Tensor::empty({n}, DType::kI32);
  for (int64_t i = 0; i < n; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7) % c);
  for (float smoothing : {0.f, 0.1f})
    conform("cross_entropy", [&](KernelBackend& be, const Place& on) {
      Tensor logp = on(poisoned({n, c})), loss = on(poisoned({1})), dx = on(poisoned({n, c})), ld = on(labels);
      be.softmax_forward(true, on(logits), logp);
      be.cross_entropy_forward(logp, ld, smoothing, loss);
      be.cross_entropy_backward(logp, ld, smoothing, on(dloss), dx);
      return std::vector<Tensor>{loss, dx};
    });
  conform("mse, bce_with_logits, one_hot", [&](KernelBackend& be, const Place& on) {
    Tensor mse = on(poisoned({1})), dmse = on(poisoned({n, c})), bce = on(poisoned({1})), dbce = on(poisoned({n, c}));
    Tensor hot = on(poisoned({n, c})), x = on(logits), t = on(target), dl = on(dloss);
    be.mse_forward(x, t, mse);
    be.mse_backward(x, t, dl, dmse);
    be.bce_forward(x, t, bce);
    be.bce_backward(x, t, dl, dbce);
    be.one_hot(on(labels), hot);
    return std::vector<Tensor>{mse, dmse, bce, dbce, hot};
  });
}

TEST_F(CudaConformance, OptimizerUpdatesAndDropout) {
  Tensor p0 = random({1000}), g = random({1000}), m0 = random({1000}), v0 = random({1000}, 0, 1);
  conform("sgd_update, adam_update", [&](KernelBackend& be, const Place& on) {
    Tensor p = on(p0), buf = on(m0), q = on(p0), m = on(m0), v = on(v0), gd = on(g);
    be.sgd_update(p, gd, &buf, SgdStep{0.1f, 0.01f, 0.9f, true, false, true});
    be.adam_update(q, gd, m, v, AdamStep{0.9f, 0.999f, 1e-8f, 0.01f, 1.f, 0.999f, 0.f});
    return std::vector<Tensor>{p, buf, q, m, v};
  });
  Tensor x = random({7, 300});
  conform(
      "dropout",
      [&](KernelBackend& be, const Place& on) {
        Tensor mask = on(poisoned({7, 300})), y = on(poisoned({7, 300}));
        be.dropout(on(x), 0.3f, 11, 5, 4096, mask, y);
        return std::vector<Tensor>{mask, y};
      },
      0);
}

// Mixed precision: gemm and convolution round their inputs to bf16 / f16 and accumulate in
// f32; against the f32 reference within the 16-bit types' rounding.
TEST_F(CudaConformance, MixedPrecisionGemmAndConvolution) {
  for (DType compute : {DType::kBF16, DType::kF16}) {
    SCOPED_TRACE(dtype_name(compute));
    auto b = CudaBackend::create(0, nullptr, *memory_, /*allow_tf32=*/false, /*benchmark_convolutions=*/true, compute);
    ASSERT_TRUE(b.ok()) << b.status();
    cuda_ = std::move(*b);
    const double tol = compute == DType::kBF16 ? 1e-2 : 2e-3;
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t m = 64, n = 48, k = 200;
        Tensor a = ta ? random({k, m}) : random({m, k}), bb = tb ? random({n, k}) : random({k, n}), bias = random({n});
        conform(
            "gemm",
            [&](KernelBackend& be, const Place& on) {
              Tensor c = on(poisoned({m, n})), bd = on(bias);
              be.gemm(ta, tb, on(a), on(bb), c, 0.f, &bd);
              return std::vector<Tensor>{c};
            },
            tol);
      }
    ConvGeom g{4, 8, 12, 10, 16, 3, 3, 0, 0, 1, 1, 1, 1};
    g.p = g.h, g.q = g.w;
    Tensor x = random({g.n, g.c, g.h, g.w}), w = random({g.k, g.c, g.r, g.s}), bias = random({g.k});
    Tensor dy = random({g.n, g.k, g.p, g.q});
    conform(
        "convolution",
        [&](KernelBackend& be, const Place& on) {
          Tensor y = on(poisoned({g.n, g.k, g.p, g.q})), dx = on(poisoned(x.shape())), dw = on(poisoned(w.shape()));
          Tensor db = on(poisoned({g.k})), xd = on(x), wd = on(w), bd = on(bias), dyd = on(dy);
          be.conv2d_forward(g, xd, wd, &bd, y);
          be.conv2d_backward_data(g, dyd, wd, dx);
          be.conv2d_backward_weights(g, xd, dyd, dw, &db);
          return std::vector<Tensor>{y, dx, dw, db};
        },
        tol);
  }
}

}  // namespace
}  // namespace ty
