#!/usr/bin/env python3
"""Training-step time on one GPU: trainyard vs PyTorch, same GPU, same run, same precision.

Cases (each a full step: forward, cross-entropy, backward, Adam update):
  cnn        the Fashion-MNIST CNN example (conv 32, 64; FC 128; dropout 0.25), batch 128
  cnn_wide   the same with 4x the channels (128, 256) and batch 512
  mlp_wide   a matmul-heavy MLP (in 1024, hidden 4096 x3, batch 4096): its step rate is also
             given as a fraction of cuBLAS's own GEMM rate on the same shapes, so the
             framework overhead around the matmuls shows
PyTorch runs the CNNs in both of its memory layouts (NCHW and channels_last); the faster is
the peer. Both sides take batches already on the GPU (random inputs, not zeros), warm up, then time
3 rounds of --steps steps with CUDA events in one process and keep the best (steady state: a
peer caught in its first seconds would flatter us); --runs runs alternate trainyard and
PyTorch; medians of the runs.
PyTorch gets its best settings: cudnn.benchmark; TF32 off everywhere for fp32 (trainyard's
runtime.allow_tf32 default), on everywhere for tf32 (runtime.allow_tf32: true), or
autocast for bf16.

  python3 bench/gpu_step_vs_pytorch.py [--runs 5] [--steps 100] [--cases cnn,cnn_wide,mlp_wide]
                                       [--precision fp32|tf32|bf16] [--trainyard build/bench/gpu_step]
Without a trainyard binary able to train on CUDA, only PyTorch's side is timed (--peer-only).
"""
import argparse
import os
import statistics
import subprocess
import sys

CASES = {
    # name: (kind, batch, channels or hidden sizes, input shape)
    "cnn": ("cnn", 128, (32, 64), (1, 28, 28)),
    "cnn_wide": ("cnn", 512, (128, 256), (1, 28, 28)),
    "mlp_wide": ("mlp", 4096, (4096, 4096, 4096), (1024,)),
}


def torch_model(kind, sizes, in_shape):
    import torch.nn as nn
    if kind == "cnn":
        c1, c2 = sizes
        h, w = in_shape[1] // 4, in_shape[2] // 4
        return nn.Sequential(nn.Conv2d(in_shape[0], c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(c2 * h * w, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))
    layers, prev = [], in_shape[0]
    for hdim in sizes:
        layers += [nn.Linear(prev, hdim), nn.ReLU()]
        prev = hdim
    return nn.Sequential(*layers, nn.Linear(prev, 10))


def matmul_flops(kind, batch, sizes, in_shape):
    """Forward+backward matmul FLOPs of one MLP step (3 GEMMs per layer)."""
    if kind != "mlp":
        return None
    dims = [in_shape[0], *sizes, 10]
    return sum(3 * 2 * batch * a * b for a, b in zip(dims, dims[1:]))


ROUNDS = 3


def time_pytorch(case, steps, precision, seed, channels_last=False):
    """Milliseconds per step: the best of ROUNDS rounds of `steps` timed steps."""
    import torch
    import torch.nn.functional as F
    kind, batch, sizes, in_shape = CASES[case]
    torch.manual_seed(seed)
    dev = torch.device("cuda")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = torch_model(kind, sizes, in_shape).to(dev, memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)
    xs = [torch.randn(batch, *in_shape, device=dev).contiguous(memory_format=fmt) for _ in range(4)]
    ys = [torch.randint(0, 10, (batch,), device=dev) for _ in range(4)]

    def step(i):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(net(xs[i % 4]), ys[i % 4])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(10):
        step(i)
    torch.cuda.synchronize()
    best = None
    for _ in range(ROUNDS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(steps):
            step(i)
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end) / steps
        best = ms if best is None else min(best, ms)
    return best


def cublas_rate(case, precision):
    """TFLOP/s of torch.matmul (cuBLAS) on the MLP step's GEMM shapes, events, median of 20."""
    import torch
    kind, batch, sizes, in_shape = CASES[case]
    dt = torch.bfloat16 if precision == "bf16" else torch.float32  # tf32: float32 under allow_tf32
    dims = [in_shape[0], *sizes, 10]
    shapes = []
    for a, b in zip(dims, dims[1:]):
        shapes += [(batch, a, b), (batch, b, a), (b, batch, a)]  # y = x W^T, dx = dy W, dW = dy^T x
    mats = [(torch.randn(m, k, device="cuda", dtype=dt), torch.randn(k, n, device="cuda", dtype=dt))
            for m, k, n in shapes]
    for a, b in mats:
        torch.matmul(a, b)
    times = []
    for _ in range(20):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for a, b in mats:
            torch.matmul(a, b)
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    flops = sum(2 * m * k * n for m, k, n in shapes)
    return flops / (statistics.median(times) * 1e-3) / 1e12


def time_trainyard(binary, case, steps, precision):
    kind, batch, sizes, in_shape = CASES[case]
    cmd = [binary, "--model", kind, "--batch", str(batch), "--sizes", ",".join(map(str, sizes)),
           "--input", "x".join(map(str, in_shape)), "--steps", str(steps), "--rounds", str(ROUNDS)]
    cmd += ["--precision", "fp32", "--tf32"] if precision == "tf32" else ["--precision", precision]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    for line in out.stdout.splitlines():
        if line.startswith("ms_per_step "):
            return float(line.split()[1])
    raise RuntimeError(f"no ms_per_step in output of {' '.join(cmd)}:\n{out.stdout[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--cases", default="cnn,cnn_wide,mlp_wide")
    ap.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32")
    ap.add_argument("--trainyard", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "build", "bench", "gpu_step"))
    ap.add_argument("--peer-only", action="store_true")
    args = ap.parse_args()
    import torch
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark runs on a GPU machine")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = args.precision == "tf32"
    torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    peer_only = args.peer_only or not os.access(args.trainyard, os.X_OK)
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}, {args.precision}, "
          f"{args.steps} steps x {args.runs} runs{' (PyTorch only)' if peer_only else ''}", flush=True)
    for case in args.cases.split(","):
        kind, batch, sizes, in_shape = CASES[case]
        pt, pt_cl, ty = [], [], []
        for r in range(args.runs):  # alternating which side goes first
            if not peer_only and r % 2 == 0:
                ty.append(time_trainyard(args.trainyard, case, args.steps, args.precision))
            pt.append(time_pytorch(case, args.steps, args.precision, r))
            if kind == "cnn":  # PyTorch's other layout for convolutions; the faster one counts
                pt_cl.append(time_pytorch(case, args.steps, args.precision, r, channels_last=True))
            if not peer_only and r % 2 == 1:
                ty.append(time_trainyard(args.trainyard, case, args.steps, args.precision))
        p = statistics.median(pt)
        line = f"{case}: ms/step pytorch {p:.3f} (runs {', '.join(f'{v:.3f}' for v in pt)})"
        if pt_cl:
            p_cl = statistics.median(pt_cl)
            line += f", pytorch channels_last {p_cl:.3f} (runs {', '.join(f'{v:.3f}' for v in pt_cl)})"
            p = min(p, p_cl)
        if ty:
            t = statistics.median(ty)
            line += f", trainyard {t:.3f} (runs {', '.join(f'{v:.3f}' for v in ty)}) = ratio {t / p:.3f}"
        flops = matmul_flops(kind, batch, sizes, in_shape)
        if flops:
            rate = cublas_rate(case, args.precision)
            line += f"; cuBLAS GEMM alone {rate:.1f} TFLOP/s, pytorch step at {flops / (p * 1e-3) / 1e12 / rate:.0%}"
            if ty:
                line += f", trainyard step at {flops / (t * 1e-3) / 1e12 / rate:.0%}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
