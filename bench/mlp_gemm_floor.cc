// The GEMM floor of an MLP epoch on this CPU, through trainyard's own CPU kernels (oneDNN):
//   products_s  the epoch's matrix products alone — per layer the forward product and
//               backward's input and weight gradients — each timed in isolation (best of 50,
//               call overhead included), times the steps of an epoch;
//   peak_gflops the best rate of a large square product (1024^3, best of 10);
//   floor_s     the epoch's GEMM flops at that peak rate: no epoch can run faster.
// bench/fashion_mnist_vs_pytorch.py prints trainyard's epoch against them. Prints JSON.
//
//   build/bench/mlp_gemm_floor THREADS STEPS [BATCH] [SIZES=784,256,256,10]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "runtime/context.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: mlp_gemm_floor THREADS STEPS [BATCH] [SIZES]\n");
    return 2;
  }
  ty::ContextOptions o;
  o.threads = std::atoi(argv[1]);
  const long steps = std::atol(argv[2]);
  const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 128;
  std::vector<int64_t> sizes;
  for (absl::string_view s : absl::StrSplit(argc > 4 ? argv[4] : "784,256,256,10", ','))
    sizes.push_back(std::atoll(std::string(s).c_str()));
  auto ctx_or = ty::Context::create(o);
  if (!ctx_or.ok()) return 1;
  ty::Context& ctx = **ctx_or;
  ty::Kernels& k = ctx.kernels(ty::DType::kF32);
  double total = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) {
    const int64_t in = sizes[l], out = sizes[l + 1];
    ty::Tensor x = ctx.zeros({batch, in}), w = ctx.zeros({in, out}), y = ctx.zeros({batch, out});
    ty::Tensor dx = ctx.zeros({batch, in}), dw = ctx.zeros({in, out});
    x.fill(0.5f);
    w.fill(0.25f);
    y.fill(1.f);
    struct Product {
      bool ta, tb;
      const ty::Tensor *a, *b;
      ty::Tensor* c;
    } products[] = {{false, false, &x, &w, &y}, {false, true, &y, &w, &dx}, {true, false, &x, &y, &dw}};
    for (const Product& p : products) {
      double best = 1e9;
      for (int i = 0; i < 50; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        k.dense().gemm(p.ta, p.tb, *p.a, *p.b, *p.c, 0.f);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      total += best;
    }
  }
  double flops = 0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) flops += 3.0 * 2.0 * batch * sizes[l] * sizes[l + 1];
  ty::Tensor a = ctx.zeros({1024, 1024}), b = ctx.zeros({1024, 1024}), c = ctx.zeros({1024, 1024});
  a.fill(0.5f);
  b.fill(0.25f);
  double best = 1e9;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    k.dense().gemm(false, false, a, b, c, 0.f);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double peak = 2.0 * 1024 * 1024 * 1024 / best;
  std::printf("{\"products_s\": %.6f, \"peak_gflops\": %.3f, \"floor_s\": %.6f}\n", total * steps, peak / 1e9,
              flops * steps / peak);
  return 0;
}
