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

  Tensor random(Shape s) { return random_tensor(std::move(s), rng_); }
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
        conform("conv2d", [&](KernelBackend& be, const Place& on) {
          Tensor y = on(poisoned({g.n, g.k, g.p, g.q})), dx = on(poisoned({g.n, g.c, g.h, g.w}));
          Tensor dw = on(poisoned({g.k, g.c, g.r, g.s})), db = on(poisoned({g.k}));
          Tensor xd = on(x), wd = on(w), bd = on(b), dyd = on(dy);
          be.conv2d_forward(g, xd, wd, bias ? &bd : nullptr, y);
          be.conv2d_backward_data(g, dyd, wd, dx);
          be.conv2d_backward_weights(g, xd, dyd, dw, bias ? &db : nullptr);
          std::vector<Tensor> out{y, dx, dw};
          if (bias) out.push_back(db);
          return out;
        }, 1e-4);
      }
}

TEST_F(CudaConformance, MaxAndAveragePooling) {
  for (bool max : {true, false})
    for (int64_t pad : {0, 1}) {
      PoolGeom g{2, 3, 9, 7, 0, 0, 3, 3, 2, 2, pad, pad, max};
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
    conform(training ? "batch norm (training)" : "batch norm (running statistics)",
            [&](KernelBackend& be, const Place& on) {
              Tensor y = on(poisoned(x.shape())), dx = on(poisoned(x.shape()));
              Tensor dg = on(poisoned({6})), db = on(poisoned({6}));
              Tensor mean = on(training ? poisoned({6}) : mean0), var = on(training ? poisoned({6}) : var0);
              Tensor xd = on(x), gd = on(gamma);
              be.batchnorm_forward(xd, gd, on(beta), 1e-5f, training, mean, var, y);
              be.batchnorm_backward(xd, on(dy), gd, mean, var, 1e-5f, training, dx, dg, db);
              return std::vector<Tensor>{y, mean, var, dx, dg, db};
            }, 1e-4);
  Tensor lx = random({9, 70}), ldy = random({9, 70}), lg = random({70}), lb = random({70});
  conform("layer norm", [&](KernelBackend& be, const Place& on) {
    Tensor y = on(poisoned({9, 70})), dx = on(poisoned({9, 70})), mean = on(poisoned({9})), var = on(poisoned({9}));
    Tensor dg = on(poisoned({70})), db = on(poisoned({70})), xd = on(lx), gd = on(lg);
    be.layernorm_forward(xd, gd, on(lb), 1e-5f, y, mean, var);
    be.layernorm_backward(xd, on(ldy), gd, mean, var, 1e-5f, dx, dg, db);
    return std::vector<Tensor>{y, mean, var, dx, dg, db};
  }, 1e-4);
}

}  // namespace
}  // namespace ty
