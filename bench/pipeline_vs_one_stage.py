#!/usr/bin/python3
"""A deep MLP on Fashion-MNIST (784 → 4 × 1024 → 10, ReLU) split into 2 pipeline stages on
2 ranks × 1 thread, against the same model on one stage (one process) with the same global
batch (256) and the same threads (2), and against data parallelism on the same 2 ranks. Each
run trains --epochs epochs in one launch and keeps its best (steady state). Prints, as medians
over runs: samples/s, the ratio to one stage, the measured bubble next to the formula
(P − 1)/(M + P − 1), and the peak resident memory per rank (Linux's VmHWM, via
/usr/bin/time), whose model share halves with two stages.

  /usr/bin/python3 bench/pipeline_vs_one_stage.py [--runs 3] [--epochs 3] [--microbatches 4]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from fashion_mnist_vs_pytorch import trainyard_binary  # noqa: E402


def run(ranks, threads, settings, epochs):
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = ["/usr/bin/time", "-f", "maxrss_kb %M", trainyard_binary(), "train",
               os.path.join(ROOT, "examples", "fashion_mnist_mlp.yaml"),
               "--set", f"train.epochs={epochs}", "--set", f"runtime.threads={threads}",
               "--set", "validation.fraction=0", "--set", "data.test=", "--set", "data.train_subset=15360",
               "--set", "data.batch_size=256", "--set", "model.hidden=[1024,1024,1024,1024]",
               "--run-dir", run_dir] + settings
        if ranks > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"trainyard failed ({' '.join(cmd)}):\n{p.stderr[-3000:]}")
        records = [r for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl"))) if r["kind"] == "epoch"]
        best = max(records, key=lambda r: r["samples_per_s"])
        rss = [int(x) / 1024 for x in re.findall(r"maxrss_kb (\d+)", p.stderr)]
        return best["samples_per_s"], best.get("bubble_fraction"), max(rss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--microbatches", type=int, default=4)
    a = ap.parse_args()
    m = a.microbatches
    sides = {
        "one stage, 1 process x 2 threads": (1, 2, []),
        f"one stage, {m} micro-batches accumulated": (1, 2, ["--set", f"parallel.pipeline.microbatches={m}"]),
        "data parallel, 2 ranks x 1 thread": (2, 1, []),
        f"2 stages 1f1b, M={m}, 2 ranks x 1 thread": (2, 1, ["--set", "parallel.pipeline.stages=2", "--set",
                                                         f"parallel.pipeline.microbatches={m}"]),
        f"2 stages gpipe, M={m}, 2 ranks x 1 thread": (2, 1, ["--set", "parallel.pipeline.stages=2", "--set",
                                                          f"parallel.pipeline.microbatches={m}", "--set",
                                                          "parallel.pipeline.schedule=gpipe"]),
    }
    results = {name: [] for name in sides}
    for i in range(a.runs):
        for name, (ranks, threads, settings) in sides.items():
            results[name].append(run(ranks, threads, settings, a.epochs))
            print(f"run {i + 1}: {name}: {results[name][-1][0]:.0f} samples/s", file=sys.stderr, flush=True)
    base = statistics.median(r[0] for r in results["one stage, 1 process x 2 threads"])
    print(f"deep MLP 784-4x1024-10, global batch 256, median of {a.runs} runs (best of {a.epochs} epochs each):")
    for name, rs in results.items():
        sps = statistics.median(r[0] for r in rs)
        rss = statistics.median(r[2] for r in rs)
        bubbles = [r[1] for r in rs if r[1] is not None]
        bubble = (f", bubble {100 * statistics.median(bubbles):.0f}% (formula {100 / (m + 1):.0f}%)"
                  if bubbles else "")
        print(f"  {name:45s} {sps:8.0f} samples/s  {sps / base:5.2f}x one stage  peak RSS/rank {rss:6.0f} MiB{bubble}")


if __name__ == "__main__":
    main()
