#!/usr/bin/python3
"""The Fashion-MNIST MLP example on 2 ranks x 1 thread: trainyard under mpirun vs PyTorch
DistributedDataParallel with the gloo backend, same run, same data, global batch 128 (64 per
rank), Adam 1e-3. Both sides are timed in steady state: each run trains --epochs epochs (3)
in one launch and keeps its best. Prints the medians over runs and the ratio trainyard /
DDP, trainyard's 2-rank over 1-rank epoch time, and the share of the gradient allreduce
hidden behind backward.

  /usr/bin/python3 bench/ddp_vs_pytorch.py [--runs 3] [--ranks 2] [--epochs 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from ddp_spawn import run_gloo_ranks  # noqa: E402
from fashion_mnist_vs_pytorch import DATA, load_idx, openblas_coretype, torch_model, trainyard_binary  # noqa: E402

PEER_ENV = {"OPENBLAS_CORETYPE": openblas_coretype(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_trainyard(ranks, epochs):
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [trainyard_binary(), "train", os.path.join(ROOT, "examples", "fashion_mnist_mlp.yaml"),
               "--set", f"train.epochs={epochs}", "--set", "runtime.threads=1", "--set", "validation.fraction=0",
               "--set", "data.test=", "--set", "comm.bucket_mb=0.25", "--run-dir", run_dir]
        if ranks > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"trainyard failed:\n{p.stderr}")
        secs = [r["seconds"] for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl"))) if r["kind"] == "epoch"]
        m = re.search(r"\((\d+)% hidden behind backward\)", p.stderr)
        return min(secs), (int(m.group(1)) if m else None)


def ddp_worker(rank, world, port, queue, epochs):
    os.environ.update(PEER_ENV)
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    x, y = load_idx(f"{DATA}/train-images-idx3-ubyte.gz", f"{DATA}/train-labels-idx1-ubyte.gz")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    torch.manual_seed(0)
    net = torch.nn.parallel.DistributedDataParallel(torch_model("mlp"))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n, batch = len(y), 128
    local = batch // world

    def step(idx):
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    g = torch.Generator().manual_seed(1)
    best = float("inf")
    for _ in range(epochs):
        dist.barrier()
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=g)
        for i in range(0, n - batch + 1, batch):
            step(perm[i + rank * local:i + (rank + 1) * local])
        dist.barrier()
        best = min(best, time.perf_counter() - t0)
    if rank == 0:
        queue.put(best)
    dist.destroy_process_group()


def run_ddp(world, epochs):
    return run_gloo_ranks(ddp_worker, world, (epochs,), timeout_s=600)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3, help="epochs per launch; each run keeps its best")
    args = ap.parse_args()
    os.environ.update(PEER_ENV)
    ty_n, ty_1, ddp, hidden = [], [], [], []
    for r in range(args.runs):
        t, h = run_trainyard(args.ranks, args.epochs)
        t1, _ = run_trainyard(1, args.epochs)
        d = run_ddp(args.ranks, args.epochs)
        ty_n.append(t)
        ty_1.append(t1)
        ddp.append(d)
        if h is not None:
            hidden.append(h)
        print(f"  run {r + 1}: trainyard {args.ranks} ranks {t:.3f} s, 1 rank {t1:.3f} s; DDP gloo {d:.3f} s", flush=True)
    t, t1, d = statistics.median(ty_n), statistics.median(ty_1), statistics.median(ddp)
    print(f"mlp epoch, {args.ranks} ranks x 1 thread, global batch 128: trainyard {t:.3f} s / DDP gloo {d:.3f} s "
          f"= ratio {t / d:.3f}")
    print(f"trainyard {args.ranks}-rank / 1-rank epoch time: {t / t1:.3f}; allreduce hidden behind backward: "
          f"{statistics.median(hidden) if hidden else 'n/a'}%")


if __name__ == "__main__":
    main()
