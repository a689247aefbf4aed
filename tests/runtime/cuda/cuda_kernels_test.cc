// The CUDA backend against its CPU references: every kernel by normalized error with a
// per-kernel tolerance, outputs poisoned with NaN first (an unwritten element shows), no
// NaN/Inf; dropout bit-identical to the CPU's Philox numbers; the caching allocator's
// reuse, cross-stream deferral and out-of-memory error. Without a CUDA device (CI, the
// development machine) each test skips, saying why; tests/device/check.sh runs them on one.
#include <cuda_runtime_api.h>

#include <cmath>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/backend/cuda/cublas_gemm.h"
#include "runtime/backend/cuda/cuda_kernels.h"
#include "runtime/backend/cuda/device_allocator.h"
#include "runtime/backend/reference/reference_backend.h"
#include "runtime/device_probe.h"
#include "runtime/philox.h"

namespace ty {
namespace {

#define REQUIRE_CUDA_DEVICE()                                                       \
  do {                                                                              \
    auto gpu = cuda_device(0);                                                      \
    if (!gpu.ok()) GTEST_SKIP() << "no GPU check here: " << gpu.status().message(); \
  } while (0)

// A device copy of `host` that frees itself.
struct DeviceBuffer {
  explicit DeviceBuffer(const std::vector<float>& host) : n(host.size()) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p), std::max<size_t>(n, 1) * 4), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p, host.data(), n * 4, cudaMemcpyHostToDevice), cudaSuccess);
  }
  explicit DeviceBuffer(size_t count)
      : DeviceBuffer(std::vector<float>(count, std::numeric_limits<float>::quiet_NaN())) {}
  ~DeviceBuffer() { cudaFree(p); }
  std::vector<float> host() const {
    std::vector<float> out(n);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(out.data(), p, n * 4, cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }
  float* p = nullptr;
  size_t n;
};

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 3.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(gen);
  return v;
}

Tensor host_tensor(const std::vector<float>& v, Shape shape) {
  Tensor t = Tensor::empty(host_memory(), std::move(shape));
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

// max |got - want| / max(1, max |want|), and no NaN/Inf in `got`.
void expect_close(const std::vector<float>& got, const float* want, double tol, const std::string& what) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(std::isfinite(got[i])) << what << ": element " << i << " is " << got[i];
    err = std::max(err, std::fabs(double(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(double(want[i])));
  }
  EXPECT_LE(err / scale, tol) << what;
}

TEST(CudaDevice, ProbeSaysWhatItFound) {
  auto gpu = cuda_device(0);
  if (gpu.ok()) {
    EXPECT_FALSE(gpu->name.empty());
    EXPECT_GT(gpu->memory_bytes, 0u);
  } else {
    EXPECT_NE(gpu.status().message().find("no CUDA device"), std::string::npos) << gpu.status();
  }
  EXPECT_FALSE(cuda_device(1 << 20).ok());
}

TEST(CudaKernels, EltwiseMatchesTheReferenceBackend) {
  REQUIRE_CUDA_DEVICE();
  ReferenceBackend ref;
  const size_t n = 100003;
  const auto x = random_values(n, 1), dy = random_values(n, 2);
  const struct {
    Eltwise kind;
    const char* name;
    double tol;
  } cases[] = {{Eltwise::kRelu, "relu", 0},
               {Eltwise::kLeakyRelu, "leaky_relu", 0},
               {Eltwise::kGelu, "gelu", 1e-6},
               {Eltwise::kTanh, "tanh", 1e-6},
               {Eltwise::kSigmoid, "sigmoid", 1e-6}};
  for (const auto& c : cases) {
    DeviceBuffer dx_in(x), ddy(dy), y(n), dx(n);
    cuda::eltwise_forward(nullptr, c.kind, 0.1f, dx_in.p, y.p, n);
    cuda::eltwise_backward(nullptr, c.kind, 0.1f, dx_in.p, ddy.p, dx.p, n);
    Tensor hx = host_tensor(x, {int64_t(n)}), hdy = host_tensor(dy, {int64_t(n)});
    Tensor hy = Tensor::empty(host_memory(), {int64_t(n)}), hdx = Tensor::empty(host_memory(), {int64_t(n)});
    ref.eltwise_forward(c.kind, 0.1f, hx, hy);
    ref.eltwise_backward(c.kind, 0.1f, hx, hdy, hdx);
    expect_close(y.host(), hy.data<float>(), c.tol, std::string(c.name) + " forward");
    expect_close(dx.host(), hdx.data<float>(), c.tol * 10, std::string(c.name) + " backward");
  }
}

TEST(CudaKernels, SoftmaxAndLogSoftmaxMatchTheReferenceBackend) {
  REQUIRE_CUDA_DEVICE();
  ReferenceBackend ref;
  for (auto [rows, cols] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 1000}, {300, 10}, {3, 5000}, {64, 33}}) {
    for (bool log : {false, true}) {
      const size_t n = rows * cols;
      const auto x = random_values(n, 3, 8.f), dy = random_values(n, 4);
      DeviceBuffer dxin(x), ddy(dy), y(n), dx(n);
      cuda::softmax_forward(nullptr, log, dxin.p, y.p, rows, cols);
      cuda::softmax_backward(nullptr, log, y.p, ddy.p, dx.p, rows, cols);
      Tensor hy = Tensor::empty(host_memory(), {rows, cols}), hdx = Tensor::empty(host_memory(), {rows, cols});
      ref.softmax_forward(log, host_tensor(x, {rows, cols}), hy);
      ref.softmax_backward(log, hy, host_tensor(dy, {rows, cols}), hdx);
      const std::string what =
          std::string(log ? "log_softmax " : "softmax ") + std::to_string(rows) + "x" + std::to_string(cols);
      expect_close(y.host(), hy.data<float>(), 1e-5, what + " forward");
      expect_close(dx.host(), hdx.data<float>(), 1e-5, what + " backward");
    }
  }
}

TEST(CudaKernels, FusedOptimizerUpdatesMatchTheCpuLoops) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 50001;
  auto p = random_values(n, 5), g = random_values(n, 6);
  std::vector<float> buf(n, 0.f), m(n, 0.f), v(n, 0.f);
  DeviceBuffer dp(p), dg(g), dbuf(buf), dp2(p), dm(m), dv(v);
  std::vector<float> p2 = p;
  for (int t = 1; t <= 3; ++t) {
    const SgdStep s{0.05f, 1e-4f, 0.9f, true, t == 1, t == 2};
    cuda::sgd_update(nullptr, dp.p, dg.p, dbuf.p, n, s);
    for (size_t i = 0; i < n; ++i) sgd_element(p[i], g[i], &buf[i], s);
    const double bc1 = 1 - std::pow(0.9, t), bc2 = 1 - std::pow(0.999, t);
    const AdamStep a{0.9f, 0.999f, 1e-8f, float(1e-3 / bc1), float(1 / std::sqrt(bc2)), 1.f - 1e-3f * 0.01f, 0.f};
    cuda::adam_update(nullptr, dp2.p, dg.p, dm.p, dv.p, n, a);
    for (size_t i = 0; i < n; ++i) adam_element(p2[i], g[i], m[i], v[i], a);
  }
  expect_close(dp.host(), p.data(), 1e-6, "sgd (momentum, nesterov on step 2)");
  expect_close(dbuf.host(), buf.data(), 1e-6, "sgd momentum buffer");
  expect_close(dp2.host(), p2.data(), 1e-6, "adamw");
  expect_close(dm.host(), m.data(), 1e-6, "adam first moment");
  expect_close(dv.host(), v.data(), 1e-6, "adam second moment");
}

TEST(CudaKernels, DropoutDrawsTheCpuPhiloxNumbers) {
  REQUIRE_CUDA_DEVICE();
  const size_t n = 10007;
  const auto x = random_values(n, 7);
  DeviceBuffer dx(x), y(n), mask(n);
  const float p = 0.3f;
  const uint64_t seed = 42, stream = 3;
  for (const uint64_t first : {uint64_t{4096}, uint64_t{4099}}) {  // a whole Philox block, and not
    cuda::dropout_forward(nullptr, dx.p, y.p, mask.p, n, p, seed, stream, first);
    const auto got_mask = mask.host(), got_y = y.host();
    Philox rng(seed, stream);
    for (size_t i = 0; i < n; ++i) {
      const float want = rng.uniform(first + i) >= p ? 1.f / (1.f - p) : 0.f;
      ASSERT_EQ(got_mask[i], want) << "element " << i << ", first " << first;
      ASSERT_EQ(got_y[i], x[i] * want) << "element " << i << ", first " << first;
    }
  }
}

TEST(CudaKernels, CublasGemmMatchesTheReferenceBackend) {
  REQUIRE_CUDA_DEVICE();
  auto gemm = cuda::CublasGemm::create(nullptr, /*allow_tf32=*/false);
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  ReferenceBackend ref;
  for (auto [m, n, k] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {128, 256, 784}, {37, 10, 256}, {5, 300, 7}}) {
    for (int mode = 0; mode < 4; ++mode) {
      const bool ta = mode & 1, tb = mode & 2;
      const auto a = random_values(m * k, 8, 1.f), b = random_values(k * n, 9, 1.f), c0 = random_values(m * n, 10, 1.f);
      const auto bias = random_values(n, 11, 1.f);
      DeviceBuffer da(a), db(b), dc(c0), dbias(bias);
      ASSERT_TRUE((*gemm)->gemm(ta, tb, m, n, k, da.p, db.p, dc.p, 0.5f, dbias.p).ok());
      Tensor ha = host_tensor(a, ta ? Shape{k, m} : Shape{m, k}), hb = host_tensor(b, tb ? Shape{n, k} : Shape{k, n});
      Tensor hc = host_tensor(c0, {m, n}), hbias = host_tensor(bias, {n});
      ref.gemm(ta, tb, ha, hb, hc, 0.5f, &hbias);
      expect_close(dc.host(), hc.data<float>(), 1e-5,
                   "gemm " + std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) + " mode " +
                       std::to_string(mode));
    }
  }
}

TEST(CudaAllocator, ReusesPerStreamDefersAcrossStreamsAndNamesOutOfMemory) {
  REQUIRE_CUDA_DEVICE();
  CachingDeviceAllocator a(0);
  cudaStream_t s1, s2;
  ASSERT_EQ(cudaStreamCreate(&s1), cudaSuccess);
  ASSERT_EQ(cudaStreamCreate(&s2), cudaSuccess);
  auto p = a.allocate(1000, s1);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(a.bytes_in_use(), CachingDeviceAllocator::round_up(1000));
  a.deallocate(*p);
  EXPECT_EQ(a.bytes_in_use(), 0u);
  auto q = a.allocate(900, s1);  // same rounded size, same stream: the cached block
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, *p);
  auto other = a.allocate(900, s2);  // another stream never gets it while in use
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, *q);
  a.record_use(*q, s2);
  a.deallocate(*q);
  ASSERT_EQ(cudaStreamSynchronize(s2), cudaSuccess);
  auto again = a.allocate(900, s1);  // the recorded use is done: reusable
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *q);
  EXPECT_GE(a.peak_bytes_in_use(), 2 * CachingDeviceAllocator::round_up(900));
  auto huge = a.allocate(size_t{1} << 50, s1);
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(huge.status().message().find("cudaMalloc of"), std::string::npos) << huge.status();
  a.deallocate(*again);
  a.deallocate(*other);
  EXPECT_TRUE(a.release_cache().ok());
  EXPECT_EQ(a.bytes_cached(), 0u);
  cudaStreamDestroy(s1);
  cudaStreamDestroy(s2);
}

}  // namespace
}  // namespace ty
