#!/usr/bin/python3
"""The two language-model examples (examples/kjv_char_lstm.yaml, kjv_char_transformer.yaml)
against the same models in PyTorch (Debian's 1.13), same corpus, blocks, batch, optimizer
(AdamW, no decay on biases, norms and embeddings), schedule (linear warm-up, cosine),
clipping and dropout, in one run:

  time     step time on 1 thread, steady state: each side trains --epochs epochs of 20
           steps in one process and keeps its best epoch; medians over --runs launches.
  ddp      the same on 2 ranks x 1 thread (global batch 32): trainyard under mpirun vs
           DistributedDataParallel (gloo).
  loss     the held-out (test block) loss after the example's 600 steps, --seeds seeds a
           side (each side its own data order), two runs at a time on 1 thread each.

The floor printed with the times: the step's matrix-product flops at the best rate oneDNN's
matmul reaches on one core here (build/bench/mlp_gemm_floor's 1024^3 product, measured at
the start; --gflops gives it instead).

  /usr/bin/python3 bench/lm_vs_pytorch.py [--parts time,ddp,loss] [--models lstm,transformer]
                                          [--runs 3] [--seeds 3] [--gflops G]
"""
import argparse
import concurrent.futures
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from ddp_spawn import run_gloo_ranks  # noqa: E402
from fashion_mnist_vs_pytorch import openblas_coretype, trainyard_binary  # noqa: E402

CORPUS = "/usr/local/share/trainyard/kjv.txt"
EXAMPLE = {"lstm": "kjv_char_lstm.yaml", "transformer": "kjv_char_transformer.yaml"}
SEQ, BATCH, STEPS, WARMUP, LR, WD, CLIP, DROP = 128, 32, 600, 50, {"lstm": 3e-3, "transformer": 2e-3}, 0.01, 1.0, 0.1
VAL, TEST = 0.025, 0.025
TIME_STEPS = 20  # steps per timed epoch: 640 records
PEER_ENV = {"OPENBLAS_CORETYPE": openblas_coretype(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def flops_per_step(kind):
    """Multiply-adds x 2 of a training step (forward, and the backward's two products each)."""
    n = SEQ * BATCH
    if kind == "lstm":
        per_layer = 2 * n * 256 * 1024 * 2  # input and recurrent products, forward
        return 3 * (2 * per_layer + 2 * n * 256 * 256)
    d, t, heads = 128, SEQ, 4
    block = 2 * n * d * (3 * d + d + 4 * d + 4 * d) + 2 * 2 * BATCH * heads * t * t * (d // heads)
    return 3 * (4 * block + 2 * n * d * 256)


# ---------------------------------------------------------------- trainyard


def trainyard(kind, sets, ranks=1, threads=1):
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [trainyard_binary(), "train", os.path.join(ROOT, "examples", EXAMPLE[kind]), "--set",
               f"runtime.threads={threads}", "--run-dir", run_dir] + [a for s in sets for a in ("--set", s)]
        if ranks > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"trainyard failed ({' '.join(cmd)}):\n{p.stderr[-3000:]}")
        return [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]


def trainyard_step_time(kind, epochs, ranks=1):
    records = trainyard(kind, ["train.max_steps=0", f"train.epochs={epochs}", f"data.train_subset={TIME_STEPS * BATCH}",
                               "data.val_fraction=0", "data.test_fraction=0", "sample.tokens=0",
                               "comm.bucket_mb=1"], ranks)
    return min(r["seconds"] for r in records if r["kind"] == "epoch") / TIME_STEPS


def trainyard_test_loss(kind, seed):
    records = trainyard(kind, [f"train.seed={seed}", "sample.tokens=0"])
    return [r for r in records if r["kind"] == "eval" and r["split"] == "test"][-1]["loss"]


# ---------------------------------------------------------------- PyTorch


def torch_models(kind):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class LstmLm(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(256, 256)  # N(0, 1), as trainyard's rnn
            self.rnn1, self.rnn2 = nn.LSTM(256, 256, batch_first=True), nn.LSTM(256, 256, batch_first=True)
            self.out = nn.Linear(256, 256)
            self.drop = nn.Dropout(DROP)

        def forward(self, x):
            h = self.drop(self.emb(x))
            h = self.drop(self.rnn1(h)[0])
            h = self.drop(self.rnn2(h)[0])
            return self.out(h)

    class Block(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            self.heads, self.drop = heads, nn.Dropout(DROP)
            self.mask = torch.triu(torch.ones(SEQ, SEQ, dtype=torch.bool), 1)  # (not a buffer: gloo cannot broadcast bool)

        def forward(self, x):
            n, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = [a.view(n, t, self.heads, d // self.heads).transpose(1, 2) for a in (q, k, v)]
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
            att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1)
            x = x + self.drop(self.proj((att @ v).transpose(1, 2).reshape(n, t, d)))
            return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    class TransformerLm(nn.Module):
        def __init__(self, d=128):
            super().__init__()
            self.emb = nn.Embedding(256, d)
            self.pos = nn.Parameter(torch.randn(SEQ, d) * 0.02)
            nn.init.normal_(self.emb.weight, std=0.02)
            self.blocks = nn.Sequential(*[Block(d, 4) for _ in range(4)])
            self.ln = nn.LayerNorm(d)
            self.drop = nn.Dropout(DROP)

        def forward(self, x):
            h = self.drop(self.emb(x) + self.pos[:x.shape[1]])
            return self.ln(self.blocks(h)) @ self.emb.weight.t()  # tied, no bias

    return LstmLm() if kind == "lstm" else TransformerLm()


def torch_setup(kind, seed, threads=1):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = torch_models(kind)
    embeddings = {id(p) for n, p in model.named_parameters() if n.startswith("emb") or n == "pos"}
    decay = [p for p in model.parameters() if p.dim() >= 2 and id(p) not in embeddings]
    rest = [p for p in model.parameters() if not (p.dim() >= 2 and id(p) not in embeddings)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": rest, "weight_decay": 0.0}], lr=LR[kind])

    def lr_at(step):  # trainyard's LrSchedule: linear warm-up, then cosine to 0 at the last step
        if step < WARMUP:
            return (step + 1) / WARMUP
        return 0.5 * (1 + math.cos(math.pi * min((step - WARMUP) / max(STEPS - WARMUP, 1), 1.0)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    return model, opt, sched


def corpus_blocks():
    """The token stream and the block bounds trainyard's split_text gives."""
    import torch
    data = torch.tensor(list(open(CORPUS, "rb").read()), dtype=torch.long)
    n = len(data)
    test_begin = n - int(n * TEST)
    val_begin = test_begin - int(n * VAL)
    return data, val_begin, test_begin


def records(data, begin, end):
    import torch
    starts = torch.arange(begin, end - SEQ, SEQ)
    idx = starts[:, None] + torch.arange(SEQ + 1)[None, :]
    return data[idx]  # (records, SEQ + 1)


def torch_step(model, opt, sched, batch):
    import torch
    import torch.nn.functional as F
    logits = model(batch[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, 256), batch[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    sched.step()
    return loss


def torch_worker(part, kind, arg):
    os.environ.update(PEER_ENV)
    import torch
    import torch.nn.functional as F
    data, val_begin, test_begin = corpus_blocks()
    train = records(data, 0, val_begin)
    if part == "time":
        model, opt, sched = torch_setup(kind, 1)
        subset, best = train[:TIME_STEPS * BATCH], float("inf")
        g = torch.Generator().manual_seed(1)
        for _ in range(arg):
            t0 = time.perf_counter()
            perm = torch.randperm(len(subset), generator=g)
            for i in range(TIME_STEPS):
                torch_step(model, opt, sched, subset[perm[i * BATCH:(i + 1) * BATCH]])
            best = min(best, time.perf_counter() - t0)
        return best / TIME_STEPS
    seed = arg
    model, opt, sched = torch_setup(kind, seed)
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(train), generator=g)
    for i in range(STEPS):
        torch_step(model, opt, sched, train[perm[i * BATCH:(i + 1) * BATCH]])
    model.eval()
    test = records(data, test_begin, len(data))
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(test), 256):
            b = test[i:i + 256]
            total += F.cross_entropy(model(b[:, :-1]).reshape(-1, 256), b[:, 1:].reshape(-1), reduction="sum").item()
            count += b[:, 1:].numel()
    return total / count


def in_subprocess(*args):
    env = dict(os.environ, **PEER_ENV)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", *map(str, args)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"PyTorch worker {args} failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def ddp_worker(rank, world, port, queue, kind, epochs):
    os.environ.update(PEER_ENV)
    import torch
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    model, opt, sched = torch_setup(kind, 1)
    model = torch.nn.parallel.DistributedDataParallel(model)
    data, val_begin, _ = corpus_blocks()
    subset = records(data, 0, val_begin)[:TIME_STEPS * BATCH]
    local = BATCH // world
    g = torch.Generator().manual_seed(1)
    best = float("inf")
    for _ in range(epochs):
        dist.barrier()
        t0 = time.perf_counter()
        perm = torch.randperm(len(subset), generator=g)
        for i in range(TIME_STEPS):
            torch_step(model, opt, sched, subset[perm[i * BATCH + rank * local:i * BATCH + (rank + 1) * local]])
        dist.barrier()
        best = min(best, time.perf_counter() - t0)
    if rank == 0:
        queue.put(best / TIME_STEPS)
    dist.destroy_process_group()


def run_ddp(kind, epochs, world=2):
    return run_gloo_ranks(ddp_worker, world, (kind, epochs), timeout_s=900)


# ---------------------------------------------------------------- main


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        part, kind, arg = sys.argv[2], sys.argv[3], int(sys.argv[4])
        print(torch_worker(part, kind, arg))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="time,ddp,loss")
    ap.add_argument("--models", default="lstm,transformer")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--gflops", type=float, default=0, help="oneDNN matmul rate on one core (default: measured)")
    args = ap.parse_args()
    if not os.path.exists(CORPUS):
        sys.exit(f"{CORPUS} is missing: run launch/setup.sh")
    os.environ.update(PEER_ENV)
    parts, models = args.parts.split(","), args.models.split(",")
    if "time" in parts and args.gflops <= 0:
        floor_tool = os.path.join(ROOT, "build", "bench", "mlp_gemm_floor")
        out = subprocess.run([floor_tool, "1", "1"], capture_output=True, text=True).stdout
        args.gflops = json.loads(out)["peak_gflops"]
        print(f"oneDNN matmul peak on 1 core (1024^3): {args.gflops:.1f} GFLOP/s", flush=True)
    for kind in models:
        if "time" in parts:
            ty, pt = [], []
            for r in range(args.runs):
                ty.append(trainyard_step_time(kind, args.epochs))
                pt.append(in_subprocess("time", kind, args.epochs))
                print(f"  {kind} run {r + 1}: trainyard {ty[-1]:.4f} s/step, PyTorch {pt[-1]:.4f} s/step", flush=True)
            floor = flops_per_step(kind) / (args.gflops * 1e9)
            t, p = statistics.median(ty), statistics.median(pt)
            print(f"{kind} step, 1 thread, batch {BATCH} x {SEQ}: trainyard {t:.4f} s / PyTorch {p:.4f} s = ratio "
                  f"{t / p:.3f}; floor {floor:.4f} s ({flops_per_step(kind) / 1e9:.1f} GFLOP at {args.gflops} GFLOP/s) "
                  f"= {floor / p:.3f} of PyTorch", flush=True)
        if "ddp" in parts:
            ty, pt = [], []
            for r in range(args.runs):
                ty.append(trainyard_step_time(kind, args.epochs, ranks=2))
                pt.append(run_ddp(kind, args.epochs))
                print(f"  {kind} run {r + 1}: trainyard 2 ranks {ty[-1]:.4f} s/step, DDP gloo {pt[-1]:.4f} s/step",
                      flush=True)
            t, p = statistics.median(ty), statistics.median(pt)
            print(f"{kind} step, 2 ranks x 1 thread, global batch {BATCH}: trainyard {t:.4f} s / DDP gloo {p:.4f} s = "
                  f"ratio {t / p:.3f}", flush=True)
        if "loss" in parts:
            seeds = range(1, args.seeds + 1)
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:  # 2 runs of 1 thread at a time
                ty = list(pool.map(lambda s: trainyard_test_loss(kind, s), seeds))
                pt = list(pool.map(lambda s: in_subprocess("loss", kind, s), seeds))
            print(f"{kind} test loss after {STEPS} steps, seeds {list(seeds)}: trainyard "
                  f"{[round(x, 4) for x in ty]} mean {statistics.mean(ty):.4f}; PyTorch {[round(x, 4) for x in pt]} "
                  f"mean {statistics.mean(pt):.4f}; difference {statistics.mean(ty) - statistics.mean(pt):+.4f} nats",
                  flush=True)


if __name__ == "__main__":
    main()
