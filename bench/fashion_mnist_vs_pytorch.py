#!/usr/bin/python3
"""One training epoch of the Fashion-MNIST examples: trainyard vs PyTorch, same run.

Both train the same model (examples/fashion_mnist_{mlp,cnn}.yaml), on the same 60,000
training images, with the same batch (128), optimizer (Adam, lr 1e-3) and thread count
(1 by default). PyTorch is Debian's python3-torch on OpenBLAS, run with OPENBLAS_CORETYPE=SkylakeX,
OpenBLAS and OpenMP held to the same threads, and a 10-step warm-up before its timed epoch; trainyard's epoch time is the training time it
writes to metrics.jsonl. Each pair runs --runs times; the medians and their ratio
(trainyard / PyTorch, lower is better) are printed, with trainyard's peak resident memory.

  /usr/bin/python3 bench/fashion_mnist_vs_pytorch.py [--runs 3] [--models mlp,cnn] [--threads 1]
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


def run_trainyard(model, threads, epochs, extra=()):
    """Returns (epoch seconds list, test accuracy or None, peak RSS in MiB)."""
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [trainyard_binary(), "train", os.path.join(ROOT, "examples", f"fashion_mnist_{model}.yaml"),
               "--set", f"train.epochs={epochs}", "--set", f"runtime.threads={threads}",
               "--set", "validation.fraction=0", "--run-dir", run_dir, *extra]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        err = proc.stderr.read().decode()
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"trainyard failed:\n{err}")
        records = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
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


def run_pytorch(model, threads, x, y, seed):
    """Seconds for one epoch of PyTorch training after a 10-step warm-up."""
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

    warm = torch.randperm(n)
    for i in range(10):
        step(warm[i * batch:(i + 1) * batch])
    t0 = time.perf_counter()
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        step(perm[i:i + batch])
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--models", default="mlp,cnn")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--accuracy", action="store_true", help="train each example for 10 epochs, print test accuracy")
    args = ap.parse_args()
    models = args.models.split(",")

    if args.accuracy:
        for m in models:
            secs, acc, rss = run_trainyard(m, args.threads, 10)
            print(f"{m}: 10 epochs, test accuracy {acc:.4f}, median epoch {statistics.median(secs):.2f} s, "
                  f"peak RSS {rss:.0f} MiB", flush=True)
        return

    # The peer's best settings on these CPUs: OpenBLAS told the CPU type it misdetects, and
    # held to the same thread count as trainyard (its pthread build ignores torch's).
    want = {"OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_NUM_THREADS": str(args.threads),
            "OMP_NUM_THREADS": str(args.threads)}
    if any(os.environ.get(k) != v for k, v in want.items()):
        os.environ.update(want)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    blas = subprocess.run(["update-alternatives", "--query", "libblas.so.3-x86_64-linux-gnu"],
                          capture_output=True, text=True).stdout
    if "openblas" not in next((l for l in blas.splitlines() if l.startswith("Value:")), ""):
        print("warning: libblas.so.3 is not OpenBLAS; PyTorch runs on reference BLAS (run launch/setup.sh)")
    import torch
    x, y = load_idx(f"{DATA}/train-images-idx3-ubyte.gz", f"{DATA}/train-labels-idx1-ubyte.gz")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {len(y)} samples, batch 128, Adam 1e-3, "
          f"{args.runs} runs", flush=True)
    for m in models:
        ty_s, pt_s, rss = [], [], []
        for r in range(args.runs):
            secs, _, peak = run_trainyard(m, args.threads, 1, ["--set", "data.test="])
            ty_s.append(secs[0])
            rss.append(peak)
            pt_s.append(run_pytorch(m, args.threads, x, y, r))
            print(f"  {m} run {r + 1}: trainyard {ty_s[-1]:.3f} s, pytorch {pt_s[-1]:.3f} s", flush=True)
        t, p = statistics.median(ty_s), statistics.median(pt_s)
        print(f"{m}: epoch seconds trainyard {t:.3f} / pytorch {p:.3f} = ratio {t / p:.3f}  "
              f"(trainyard peak RSS {max(rss):.0f} MiB)", flush=True)


if __name__ == "__main__":
    main()
