// trainyard's side of bench/gpu_step_vs_pytorch.py: the training step (forward,
// cross-entropy, backward, Adam) of one model on a CUDA device, on batches already on the
// device (random inputs and labels), timed with CUDA events after a warm-up: the best of
// --rounds rounds of --steps steps in this one process (steady state). Prints "ms_per_step X".
//   gpu_step --model cnn|mlp --batch N --sizes A,B[,..] --input 1x28x28 [--steps 100] [--warmup 10]
//            [--rounds 3]
//            [--precision fp32|bf16] [--tf32] [--no-cudnn-benchmark]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "models/model.h"
#include "runtime/ops/ops.h"
#include "runtime/optim/adam.h"

namespace ty {
namespace {

struct Args {
  std::string model = "cnn", precision = "fp32";
  int64_t batch = 128, steps = 100, warmup = 10, rounds = 3;
  std::vector<int64_t> sizes{32, 64}, input{1, 28, 28};
  bool tf32 = false;
  bool cudnn_benchmark = true;
};

std::vector<int64_t> ints(const std::string& s, char sep) {
  std::vector<int64_t> out;
  for (absl::string_view p : absl::StrSplit(s, sep)) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(p, &v) || v <= 0) {
      std::fprintf(stderr, "gpu_step: bad number '%s' in '%s'\n", std::string(p).c_str(), s.c_str());
      std::exit(2);
    }
    out.push_back(v);
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gpu_step: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--model")
      a.model = value();
    else if (k == "--batch")
      a.batch = ints(value(), ',')[0];
    else if (k == "--steps")
      a.steps = ints(value(), ',')[0];
    else if (k == "--warmup")
      a.warmup = ints(value(), ',')[0];
    else if (k == "--rounds")
      a.rounds = ints(value(), ',')[0];
    else if (k == "--sizes")
      a.sizes = ints(value(), ',');
    else if (k == "--input")
      a.input = ints(value(), 'x');
    else if (k == "--precision")
      a.precision = value();
    else if (k == "--tf32")
      a.tf32 = true;
    else if (k == "--no-cudnn-benchmark")
      a.cudnn_benchmark = false;
    else {
      std::fprintf(stderr, "gpu_step: unknown argument %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.precision != "fp32" && a.precision != "bf16") {
    std::fprintf(stderr, "gpu_step: --precision %s: fp32 or bf16\n", a.precision.c_str());
    std::exit(2);
  }
  return a;
}

int main_(int argc, char** argv) {
  const Args a = parse(argc, argv);
  ContextOptions co;
  co.device = Device{DeviceKind::kCUDA, 0};
  co.seed = 1;
  co.allow_tf32 = a.tf32;
  co.benchmark_convolutions = a.cudnn_benchmark;
  co.compute = a.precision == "bf16" ? DType::kBF16 : DType::kF32;
  auto ctx_or = Context::create(co);
  if (!ctx_or.ok()) {
    std::fprintf(stderr, "gpu_step: %s\n", std::string(ctx_or.status().message()).c_str());
    return 1;
  }
  Context& ctx = **ctx_or;
  ModelSpec spec;
  spec.kind = a.model == "cnn" ? ModelKind::kCnn : ModelKind::kMlp;
  if (a.model == "cnn") {
    for (int64_t c : a.sizes) spec.conv.push_back(ConvBlockSpec{c, 3, 1, -1, PoolKind::kMax, 2, false, false});
    spec.hidden = {128};
    spec.dropout = 0.25f;
  } else {
    spec.hidden = a.sizes;
  }
  auto model = build_model(ctx, spec, a.input, 10, 1);
  if (!model.ok()) {
    std::fprintf(stderr, "gpu_step: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  Adam opt(ctx, (*model)->params(), AdamOptions{});
  // Four batches on the device, used in turn (as the peer does).
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<Tensor> xs, ys;
  Shape xshape{a.batch};
  for (int64_t d : a.input) xshape.push_back(d);
  for (int b = 0; b < 4; ++b) {
    Tensor x = Tensor::empty(host_memory(), xshape), y = Tensor::empty(host_memory(), {a.batch}, DType::kI32);
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
    for (int64_t i = 0; i < a.batch; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(rng() % 10);
    xs.push_back(ctx.to_device(x));
    ys.push_back(ctx.to_device(y));
  }
  Tape tape;
  (*model)->set_training(true);
  auto step = [&](int64_t i) {
    {
      TapeScope record(ctx, &tape);
      ctx.dropout_key() = DropoutKey{static_cast<uint64_t>(i), 0};  // (new masks each step, as in training)
      Var out = (*model)->forward(ctx, Var(xs[i % 4]));
      Var loss = ops::cross_entropy(ctx, out, ys[i % 4]);
      tape.backward(loss);
    }
    opt.step(1e-3f);
    opt.zero_grad();
  };
  for (int64_t i = 0; i < a.warmup; ++i) step(i);
  ctx.synchronize();
  cudaEvent_t start, end;
  cudaEventCreate(&start);
  cudaEventCreate(&end);
  cudaStream_t stream = static_cast<cudaStream_t>(ctx.stream());
  float ms = 0;
  for (int64_t r = 0; r < std::max<int64_t>(a.rounds, 1); ++r) {
    cudaEventRecord(start, stream);
    for (int64_t i = 0; i < a.steps; ++i) step(i);
    cudaEventRecord(end, stream);
    cudaEventSynchronize(end);
    float round_ms = 0;
    cudaEventElapsedTime(&round_ms, start, end);
    ms = r == 0 ? round_ms : std::min(ms, round_ms);
  }
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    std::fprintf(stderr, "gpu_step: CUDA error %s\n", cudaGetErrorString(err));
    return 1;
  }
  std::printf("ms_per_step %.4f\n", ms / a.steps);
  std::printf("peak_device_mib %.1f\n", ctx.allocator()->peak_bytes_in_use() / 1048576.0);
  return 0;
}

}  // namespace
}  // namespace ty

int main(int argc, char** argv) { return ty::main_(argc, argv); }
