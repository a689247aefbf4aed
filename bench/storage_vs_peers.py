#!/usr/bin/python3
"""Storage figures, each against its peer in the same run:

1. The CNN example streaming shards for one epoch: the share of the epoch the training
   thread spent getting batches (metrics.jsonl data_wait_s / seconds).
2. Checkpoints of a large MLP (~150 MB of state): the training thread's median stall per save vs an
   in-memory copy of the same bytes between out-of-cache buffers (numpy), and background
   write throughput vs
   `dd conv=fsync` of the same size into the same directory.
(Loader throughput vs cat and dd iflag=direct: build/bench/loader_vs_cat.)

  /usr/bin/python3 bench/storage_vs_peers.py [--runs 3] [--dir /tmp]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from fashion_mnist_vs_pytorch import DATA, trainyard_binary  # noqa: E402


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, **kw)
    return time.perf_counter() - t0


def records(run_dir):
    return [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    ty = trainyard_binary()
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        prefix = os.path.join(work, "fm")
        subprocess.run([ty, "data", "import", "idx", "--images", f"{DATA}/train-images-idx3-ubyte.gz", "--labels",
                        f"{DATA}/train-labels-idx1-ubyte.gz", "--out", prefix, "--shard-mb", "16"],
                       check=True, stdout=subprocess.DEVNULL)
        shards = sorted(os.path.join(work, f) for f in os.listdir(work) if f.endswith(".tyshard"))
        total = sum(os.path.getsize(f) for f in shards)
        # Loader throughput vs cat / dd: bench/loader_vs_cat (built with the project).
        waits, stalls, copies, writes = [], [], [], []
        for r in range(args.runs):
            run_dir = os.path.join(work, f"cnn{r}")
            subprocess.run([ty, "train", os.path.join(ROOT, "examples", "fashion_mnist_cnn.yaml"), "--set",
                            f"data.train={prefix}-*", "--set", "train.epochs=1", "--set", "validation.fraction=0",
                            "--set", "data.test=", "--set", "checkpoint.at_end=false", "--run-dir", run_dir],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ep = [x for x in records(run_dir) if x["kind"] == "epoch"][0]
            waits.append(ep["data_wait_s"] / ep["seconds"])
            # Checkpoints of a large state (an MLP of 3 x 2048 hidden units with Adam:
            # ~150 MB per save), so that per-file fsyncs do not dominate the throughput.
            run_dir = os.path.join(work, f"big{r}")
            subprocess.run([ty, "train", os.path.join(ROOT, "examples", "fashion_mnist_mlp.yaml"), "--set",
                            f"data.train={prefix}-*", "--set", "model.hidden=[2048,2048,2048]", "--set",
                            "train.max_steps=40", "--set", "checkpoint.every_steps=10", "--set", "checkpoint.keep=2",
                            "--set", "validation.fraction=0", "--set", "data.test=", "--run-dir", run_dir],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            recs = records(run_dir)
            ck = [x for x in recs if x["kind"] == "checkpoint"]
            stalls.append(statistics.median(x["stall_s"] for x in ck))
            nbytes = ck[0]["bytes"]
            import numpy as np
            # The baseline copies the same number of bytes between two prefaulted buffers
            # that are not in cache (a 64 MiB sweep evicts them first), as the state and its
            # snapshot buffers are not when a save comes around.
            src = np.ones(nbytes, dtype=np.uint8)
            dst = np.ones_like(src)
            sweep = np.ones(64 << 20, dtype=np.uint8)
            t = []
            for _ in range(5):
                sweep += 1
                t0 = time.perf_counter()
                np.copyto(dst, src)
                t.append(time.perf_counter() - t0)
            copies.append(statistics.median(t))
            del src, dst, sweep
            io = [x for x in recs if x["kind"] == "checkpoint_io"][0]
            mb = max(1, io["bytes"] // (1 << 20))
            dd = timed(["dd", "if=/dev/zero", f"of={os.path.join(run_dir, 'dd.bin')}", "bs=1M", f"count={mb}",
                        "conv=fsync", "status=none"])
            writes.append(((io["bytes"] / io["write_s"]), (mb << 20) / dd))
            print(f"  run {r + 1}: data wait {100 * waits[-1]:.2f}%, stall {stalls[-1] * 1e3:.1f} ms vs copy "
                  f"{copies[-1] * 1e3:.1f} ms ({nbytes / 1e6:.0f} MB), write {writes[-1][0] / 1e6:.0f} vs dd "
                  f"{writes[-1][1] / 1e6:.0f} MB/s", flush=True)
        print(f"CNN from shards: training thread waited for data {100 * statistics.median(waits):.2f}% of the epoch")
        s, cp = statistics.median(stalls), statistics.median(copies)
        print(f"checkpoint stall per save: {s * 1e3:.2f} ms vs in-memory copy {cp * 1e3:.2f} ms = {s / cp:.2f}x "
              f"(median per-run {statistics.median(a / b for a, b in zip(stalls, copies)):.2f}x)")
        ours_w = statistics.median(w[0] for w in writes)
        dd_w = statistics.median(w[1] for w in writes)
        ratio = statistics.median(w[0] / w[1] for w in writes)  # each run against its own dd
        print(f"checkpoint writing: {ours_w / 1e6:.0f} MB/s vs dd conv=fsync {dd_w / 1e6:.0f} MB/s; "
              f"median per-run ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
