// conv_transpose2d against its definition (each input element scatters its weight-scaled
// kernel into the output, PyTorch's ConvTranspose2d), on the reference backend and on the
// host's fastest (oneDNN, blocked layouts where the channels fit).
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "runtime/ops/ops.h"

namespace ty {
namespace {

struct Case {
  int64_t n, c, h, w, k, r, stride, pad, out_pad;
};

// y[b, o, i·s - p + u, j·s - p + v] += x[b, ci, i, j] · w[ci, o, u, v], plus b[o].
std::vector<double> by_definition(const Case& g, const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>& b, int64_t oh, int64_t ow) {
  std::vector<double> y(static_cast<size_t>(g.n * g.k * oh * ow));
  for (int64_t bi = 0; bi < g.n; ++bi)
    for (int64_t o = 0; o < g.k; ++o)
      for (int64_t i = 0; i < oh * ow; ++i) y[static_cast<size_t>((bi * g.k + o) * oh * ow + i)] = b[o];
  for (int64_t bi = 0; bi < g.n; ++bi)
    for (int64_t ci = 0; ci < g.c; ++ci)
      for (int64_t i = 0; i < g.h; ++i)
        for (int64_t j = 0; j < g.w; ++j)
          for (int64_t o = 0; o < g.k; ++o)
            for (int64_t u = 0; u < g.r; ++u)
              for (int64_t v = 0; v < g.r; ++v) {
                const int64_t yi = i * g.stride - g.pad + u, yj = j * g.stride - g.pad + v;
                if (yi < 0 || yi >= oh || yj < 0 || yj >= ow) continue;
                y[static_cast<size_t>(((bi * g.k + o) * oh + yi) * ow + yj)] +=
                    x[static_cast<size_t>(((bi * g.c + ci) * g.h + i) * g.w + j)] *
                    w[static_cast<size_t>(((ci * g.k + o) * g.r + u) * g.r + v)];
              }
  return y;
}

void expect_definition(bool reference, DType dtype, double tolerance) {
  Context ctx(ContextOptions{{}, 1, 3, reference});
  std::mt19937 rng(99);
  std::uniform_real_distribution<double> u(-1, 1);
  // DCGAN's shapes (4x4 kernels, stride 2, padding 1; a 7x7 from 1x1) and odd ones; 16
  // channels take oneDNN's blocked layout.
  for (const Case& g : {Case{2, 3, 4, 5, 2, 3, 1, 0, 0}, Case{2, 16, 7, 7, 16, 4, 2, 1, 0},
                        Case{3, 5, 1, 1, 16, 7, 1, 0, 0}, Case{1, 2, 3, 3, 3, 3, 2, 1, 1}}) {
    const int64_t oh = (g.h - 1) * g.stride - 2 * g.pad + g.r + g.out_pad;
    const int64_t ow = (g.w - 1) * g.stride - 2 * g.pad + g.r + g.out_pad;
    auto fill = [&](Shape s, std::vector<double>& host) {
      Tensor t = ctx.empty(s, dtype);
      host.resize(static_cast<size_t>(t.numel()));
      for (int64_t i = 0; i < t.numel(); ++i) {
        host[static_cast<size_t>(i)] = u(rng);
        t.set(i, host[static_cast<size_t>(i)]);
      }
      return t;
    };
    std::vector<double> xh, wh, bh;
    Var x(fill({g.n, g.c, g.h, g.w}, xh)), w(fill({g.c, g.k, g.r, g.r}, wh)), b(fill({g.k}, bh));
    TapeScope none(ctx, nullptr);
    Var y = ops::plain(ctx, ops::conv_transpose2d(ctx, x, w, b, {g.stride, g.pad, g.out_pad}));
    ASSERT_EQ(y.shape(), (Shape{g.n, g.k, oh, ow}));
    const std::vector<double> want = by_definition(g, xh, wh, bh, oh, ow);
    for (int64_t i = 0; i < y.value().numel(); ++i)
      ASSERT_NEAR(y.value().at(i), want[static_cast<size_t>(i)], tolerance)
          << "element " << i << " of " << shape_str(y.shape()) << (reference ? " (reference)" : " (host)");
  }
}

// y and the gradients of sum(y · r) (x, w, b) for case `g` on `ctx`, from fixed inputs.
std::vector<std::vector<double>> forward_and_gradients(Context& ctx, DType dt, const Case& g) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  auto make = [&](const Shape& s) {
    Tensor host = Tensor::empty(host_memory(), s, dt);
    for (int64_t i = 0; i < host.numel(); ++i) host.set(i, u(rng));
    return Var(ctx.to_device(host), true);
  };
  Var x = make({g.n, g.c, g.h, g.w}), w = make({g.c, g.k, g.r, g.r}), b = make({g.k});
  Tape tape;
  Var y;
  {
    TapeScope rec(ctx, &tape);
    y = ops::plain(ctx, ops::conv_transpose2d(ctx, x, w, b, {g.stride, g.pad, g.out_pad}));
    Tensor r = Tensor::empty(host_memory(), y.shape(), dt);
    for (int64_t i = 0; i < r.numel(); ++i) r.set(i, std::sin(0.37 * static_cast<double>(i)));
    r = ctx.to_device(r);
    // loss = sum(y · r): its gradient is r.
    Tensor zero = ctx.empty({1}, dt);
    zero.fill(0.0);
    Var loss = record_op(ctx, {y}, Var(zero), [&ctx, y, r](const Tensor&) { y.accumulate_grad(ctx, r.clone()); });
    tape.backward(loss);
  }
  std::vector<std::vector<double>> out;
  for (const Tensor& t : {y.value(), x.grad(), w.grad(), b.grad()}) {
    const Tensor h = ops::plain(ctx, Var(t)).value().host();
    out.emplace_back(static_cast<size_t>(h.numel()));
    for (int64_t i = 0; i < h.numel(); ++i) out.back()[static_cast<size_t>(i)] = h.at(i);
  }
  return out;
}

const Case kGradientCases[] = {Case{2, 3, 4, 5, 2, 3, 1, 0, 0}, Case{2, 16, 7, 7, 16, 4, 2, 1, 0},
                               Case{3, 20, 1, 1, 16, 7, 1, 0, 0}, Case{2, 16, 14, 14, 1, 4, 2, 1, 0}};

// `ctx` (f32) against the reference backend in f64 (checked by GradCheck against finite
// differences): y, then the gradients of x, w and b.
void expect_like_reference(Context& ctx, double tolerance) {
  Context reference(ContextOptions{{}, 1, 3, true});
  for (const Case& g : kGradientCases) {
    const auto got = forward_and_gradients(ctx, DType::kF32, g), want = forward_and_gradients(reference, DType::kF64, g);
    for (size_t k = 0; k < want.size(); ++k)
      for (size_t i = 0; i < want[k].size(); ++i)
        ASSERT_NEAR(got[k][i], want[k][i], tolerance * (1 + std::fabs(want[k][i])))
            << (k == 0 ? "y" : k == 1 ? "dx" : k == 2 ? "dw" : "db") << " element " << i << " of case c=" << g.c
            << " k=" << g.k << " h=" << g.h << " on " << ctx.device().str();
  }
}

TEST(ConvTranspose2d, HostBackendGradientsMatchTheReference) {
  Context host(ContextOptions{{}, 1, 3});
  expect_like_reference(host, 1e-3);
}

// cuDNN's backward-data as the forward, its convolution and backward-weights as the
// gradients (tests/device/check.sh runs it on a GPU; skipped without one).
TEST(ConvTranspose2d, CudaMatchesTheReference) {
  ContextOptions o;
  o.device = Device{DeviceKind::kCUDA, 0};
  auto ctx = Context::create(o);
  if (!ctx.ok()) GTEST_SKIP() << "no GPU check here: " << ctx.status().message();
  expect_like_reference(**ctx, 1e-3);
}

TEST(ConvTranspose2d, ReferenceBackendIsTheDefinition) { expect_definition(true, DType::kF64, 1e-12); }
TEST(ConvTranspose2d, HostBackendIsTheDefinition) { expect_definition(false, DType::kF32, 1e-4); }

}  // namespace
}  // namespace ty
