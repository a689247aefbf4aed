#!/usr/bin/python3
"""Storage figures, each against its peer in the same run:

1. Shard reading: `trainyard data inspect` (pread + CRC32C of every record) over the
   Fashion-MNIST shards vs `cat FILES > /dev/null` on the same files, warm page cache:
   throughput ratio (>= 1 is as fast as cat).
2. The CNN example reading shards for one epoch: the share of the epoch the training
   thread spent getting batches (metrics.jsonl data_wait_s / seconds).
3. Checkpoints while training the CNN: the training thread's median stall per save vs an
   in-memory copy of the same bytes (numpy), and background write throughput vs
   `dd conv=fsync` of the same size into the same directory.

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
        subprocess.run(["cat"] + shards, stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        ours, cat = [], []
        for _ in range(args.runs):
            cat.append(timed(["cat"] + shards, stdout=subprocess.DEVNULL))
            ours.append(timed([ty, "data", "inspect"] + shards, stdout=subprocess.DEVNULL))
        o, c = statistics.median(ours), statistics.median(cat)
        print(f"shard read+verify: {total / o / 1e6:.0f} MB/s vs cat {total / c / 1e6:.0f} MB/s = ratio {c / o:.2f}"
              " (trainyard's time includes process start and opening the files)")

        waits, stalls, copies, writes = [], [], [], []
        for r in range(args.runs):
            run_dir = os.path.join(work, f"run{r}")
            subprocess.run([ty, "train", os.path.join(ROOT, "examples", "fashion_mnist_cnn.yaml"), "--set",
                            f"data.train={prefix}-*", "--set", "train.epochs=1", "--set", "validation.fraction=0",
                            "--set", "data.test=", "--set", "checkpoint.every_steps=50", "--run-dir", run_dir],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            recs = records(run_dir)
            ep = [x for x in recs if x["kind"] == "epoch"][0]
            waits.append(ep["data_wait_s"] / ep["seconds"])
            ck = [x for x in recs if x["kind"] == "checkpoint"]
            stalls.append(statistics.median(x["stall_s"] for x in ck))
            nbytes = ck[0]["bytes"]
            import numpy as np
            src = np.ones(nbytes, dtype=np.uint8)
            dst = np.empty_like(src)
            t = []
            for _ in range(9):
                t0 = time.perf_counter()
                np.copyto(dst, src)
                t.append(time.perf_counter() - t0)
            copies.append(statistics.median(t))
            io = [x for x in recs if x["kind"] == "checkpoint_io"][0]
            mb = max(1, io["bytes"] // (1 << 20))
            dd = timed(["dd", "if=/dev/zero", f"of={os.path.join(run_dir, 'dd.bin')}", "bs=1M", f"count={mb}",
                        "conv=fsync", "status=none"])
            writes.append(((io["bytes"] / io["write_s"]), (mb << 20) / dd))
        print(f"CNN from shards: training thread waited for data {100 * statistics.median(waits):.2f}% of the epoch")
        s, cp = statistics.median(stalls), statistics.median(copies)
        print(f"checkpoint stall per save: {s * 1e3:.2f} ms vs in-memory copy {cp * 1e3:.2f} ms = {s / cp:.2f}x")
        ours_w = statistics.median(w[0] for w in writes)
        dd_w = statistics.median(w[1] for w in writes)
        print(f"checkpoint writing: {ours_w / 1e6:.0f} MB/s vs dd conv=fsync {dd_w / 1e6:.0f} MB/s = ratio {ours_w / dd_w:.2f}")


if __name__ == "__main__":
    main()
