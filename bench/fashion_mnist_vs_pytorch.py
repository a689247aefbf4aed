#!/usr/bin/python3
"""Training epochs of the Fashion-MNIST examples: trainyard vs PyTorch, same run.

Both train the same model (examples/fashion_mnist_{mlp,cnn}.yaml), on the same 60,000
training images, with the same batch (128), optimizer (Adam, lr 1e-3) and threads. PyTorch
is Debian's python3-torch on OpenBLAS, run with OPENBLAS_CORETYPE=SkylakeX (Haswell on CPUs
without AVX-512, where SkylakeX's kernels stop on an illegal instruction), OpenBLAS and
OpenMP held to the same threads. Both sides are timed in steady state: each run trains
--epochs epochs (3 by default) in one process and keeps its best epoch, so neither side is
caught in its first, slower seconds (PyTorch runs its first epoch here up to 3x slower).
trainyard's epoch time is the training time it writes to metrics.jsonl.

Rows, each --runs times (medians printed):
  1 thread      trainyard / PyTorch
  2 threads     trainyard / PyTorch, and each side's efficiency against its 1-thread epoch
                (t1 / (2 t2): 1.0 would be a perfect 2x)
  2 ranks x 1   trainyard under mpirun, efficiency against the 1-thread epoch
and for the MLP the GEMM floor (build/bench/mlp_gemm_floor): the epoch's GEMM flops at the
best rate oneDNN reaches here on a large product, and its 9 products per step timed alone.

  /usr/bin/python3 bench/fashion_mnist_vs_pytorch.py [--runs 3] [--epochs 3] [--models mlp,cnn]
  /usr/bin/python3 bench/fashion_mnist_vs_pytorch.py --accuracy   # 10 epochs each, test accuracy
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"


def trainyard_binary():
    for p in (os.environ.get("TRAINYARD"), os.path.join(ROOT, "build", "trainyard")):
        if p and os.path.exists(p):
            return p
    sys.exit("trainyard binary not found: build it (README) or set TRAINYARD=path")


def run_trainyard(model, threads, epochs, extra=(), ranks=1):
    """Returns (epoch seconds list, test accuracy or None, peak RSS in MiB)."""
    with tempfile.TemporaryDirectory() as run_dir:
        launch = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] if ranks > 1 else []
        cmd = [*launch, trainyard_binary(), "train", os.path.join(ROOT, "examples", f"fashion_mnist_{model}.yaml"),
               "--set", f"train.epochs={epochs}", "--set", f"runtime.threads={threads}",
               "--set", "validation.fraction=0", "--run-dir", os.path.join(run_dir, "run"), *extra]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"trainyard failed:\n{err}")
        records = [json.loads(l) for l in open(os.path.join(run_dir, "run", "metrics.jsonl"))]
        epochs_s = [r["seconds"] for r in records if r["kind"] == "epoch"]
        test = [r for r in records if r["kind"] == "eval" and r["split"] == "test"]
        return epochs_s, (test[0]["accuracy"] if test else None), usage.ru_maxrss / 1024


def load_idx(images, labels):
    import numpy as np
    with gzip.open(images) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(labels) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return x, y


def torch_model(model):
    import torch.nn as nn
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def run_pytorch(model, threads, x, y, seed, epochs):
    """Seconds of each of `epochs` PyTorch training epochs in this process."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    net = torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n, batch = len(y), 128

    def step(idx):
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            step(perm[i:i + batch])
        times.append(time.perf_counter() - t0)
    return times


def openblas_coretype():
    """The OpenBLAS kernel set this CPU runs best (Debian's OpenBLAS misdetects these CPUs):
    SkylakeX where AVX-512 exists, Haswell (AVX2, as Zen) otherwise."""
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "").split()
    return "SkylakeX" if "avx512f" in flags else "Haswell"


def in_subprocess(kind, *args, blas_threads=None):
    """Runs this script's worker `kind` in a process of its own, with OpenMP held to the thread
    count (args[0]) and OpenBLAS to `blas_threads` (default the same): OpenBLAS reads its
    thread count once, when it loads."""
    threads = str(args[0])
    env = dict(os.environ, OPENBLAS_CORETYPE=openblas_coretype(), OMP_NUM_THREADS=threads,
               OPENBLAS_NUM_THREADS=str(blas_threads or threads))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind, *map(str, args)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{kind} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(kind, args):
    import torch
    if kind == "pytorch":  # args: threads (for the environment), model, threads, epochs, seed
        model, threads, epochs, seed = args[1], int(args[2]), int(args[3]), int(args[4])
        x, y = load_idx(f"{DATA}/train-images-idx3-ubyte.gz", f"{DATA}/train-labels-idx1-ubyte.gz")
        print(json.dumps(run_pytorch(model, threads, torch.from_numpy(x), torch.from_numpy(y), seed, epochs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per process; each run keeps its best")
    ap.add_argument("--accuracy", action="store_true", help="train each example for 10 epochs, print test accuracy")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1:])
    models = args.models.split(",")

    if args.accuracy:
        for m in models:
            secs, acc, rss = run_trainyard(m, 1, 10)
            print(f"{m}: 10 epochs, test accuracy {acc:.4f}, median epoch {statistics.median(secs):.2f} s, "
                  f"peak RSS {rss:.0f} MiB", flush=True)
        return

    # The peer's best settings on these CPUs: OpenBLAS told the CPU type it misdetects, and
    # held to the same thread count as trainyard (its pthread build ignores torch's).
    want = {"OPENBLAS_CORETYPE": openblas_coretype()}
    if any(os.environ.get(k) != v for k, v in want.items()):
        os.environ.update(want)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    blas = subprocess.run(["update-alternatives", "--query", "libblas.so.3-x86_64-linux-gnu"],
                          capture_output=True, text=True).stdout
    if "openblas" not in next((l for l in blas.splitlines() if l.startswith("Value:")), ""):
        print("warning: libblas.so.3 is not OpenBLAS; PyTorch runs on reference BLAS (run launch/setup.sh)")
    import torch
    n = 60000
    print(f"torch {torch.__version__}, OPENBLAS_CORETYPE={openblas_coretype()}, {n} samples, batch 128, Adam 1e-3, best of {args.epochs} epochs per "
          f"process, medians of {args.runs} runs", flush=True)
    steps = (n + 127) // 128
    med = statistics.median
    for m in models:
        best = {}  # (side, threads, ranks) -> best epoch per run
        for r in range(args.runs):
            for threads in (1, 2):
                secs, _, _ = run_trainyard(m, threads, args.epochs, ["--set", "data.test="])
                best.setdefault(("trainyard", threads, 1), []).append(min(secs))
                # The peer's best: with 2 threads, OpenBLAS threaded or not (threaded OpenBLAS
                # runs these small products several times slower here).
                pytorch = min(min(in_subprocess("pytorch", threads, m, threads, args.epochs, r, blas_threads=b))
                              for b in sorted({1, threads}))
                best.setdefault(("pytorch", threads, 1), []).append(pytorch)
            secs, _, _ = run_trainyard(m, 1, args.epochs, ["--set", "data.test="], ranks=2)
            best.setdefault(("trainyard", 1, 2), []).append(min(secs))
            print(f"  {m} run {r + 1}: " + ", ".join(f"{k[0]} {k[1]}t x {k[2]}r {v[-1]:.3f} s" for k, v in best.items()),
                  flush=True)
        t1, p1 = med(best[("trainyard", 1, 1)]), med(best[("pytorch", 1, 1)])
        t2, p2 = med(best[("trainyard", 2, 1)]), med(best[("pytorch", 2, 1)])
        tr = med(best[("trainyard", 1, 2)])
        print(f"{m}, 1 thread:    trainyard {t1:.3f} s / pytorch {p1:.3f} s = ratio {t1 / p1:.3f}", flush=True)
        print(f"{m}, 2 threads:   trainyard {t2:.3f} s / pytorch {p2:.3f} s = ratio {t2 / p2:.3f}; efficiency "
              f"trainyard {t1 / (2 * t2):.2f}, pytorch {p1 / (2 * p2):.2f}", flush=True)
        print(f"{m}, 2 ranks x 1: trainyard {tr:.3f} s = {tr / t1:.2f}x its 1-thread epoch; efficiency "
              f"{t1 / (2 * tr):.2f}", flush=True)
        if m == "mlp":
            floor_bin = os.path.join(os.path.dirname(trainyard_binary()), "bench", "mlp_gemm_floor")
            for threads, t in ((1, t1), (2, t2)):
                f = json.loads(subprocess.run([floor_bin, str(threads), str(steps)], capture_output=True, text=True,
                                              check=True).stdout)
                print(f"{m}, {threads} thread(s): GEMM floor {f['floor_s']:.3f} s (the epoch's GEMM flops at "
                      f"{f['peak_gflops']:.1f} GFLOP/s, oneDNN's best rate here); its products alone "
                      f"{f['products_s']:.3f} s; trainyard's epoch = {t / f['floor_s']:.2f}x the floor", flush=True)


if __name__ == "__main__":
    main()
