#!/usr/bin/python3
"""Pipeline bubble on stages of known cost: bench/pipeline_sleep.yaml (4 stages, each a sleep
layer of 10 ms forward and 20 ms backward) on 4 ranks, GPipe and 1F1B with 4, 8 and 16
micro-batches. Each run is 25 one-step epochs; per run it keeps the fastest step (steady
state: these machines stall a process now and then) and the median step. Prints, as medians
over runs, the measured step time and bubble next to the simulator's
(comm/pipeline/simulator.h, via build/bench/pipeline_simulate) and the GPipe formula
(P − 1)/(M + P − 1), with the ratio measured / simulated. The floor is the simulated step:
(M + P − 1) × 30 ms of sleep on the critical path.

  /usr/bin/python3 bench/pipeline_bubble.py [--runs 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from fashion_mnist_vs_pytorch import trainyard_binary  # noqa: E402

STAGES, FORWARD_MS, BACKWARD_MS = 4, 10, 20


def simulate(schedule, m):
    tool = os.path.join(os.path.dirname(trainyard_binary()), "bench", "pipeline_simulate")
    p = subprocess.run([tool, schedule, str(STAGES), str(m), str(FORWARD_MS), str(BACKWARD_MS)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{tool} failed: {p.stderr}")
    return json.loads(p.stdout)


def run(schedule, m):
    """(fastest step ms, its bubble, median step ms, median bubble) of one launch."""
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(STAGES), trainyard_binary(), "train",
               os.path.join(ROOT, "bench", "pipeline_sleep.yaml"), "--set", f"parallel.pipeline.schedule={schedule}",
               "--set", f"parallel.pipeline.microbatches={m}", "--run-dir", run_dir]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"trainyard failed ({' '.join(cmd)}):\n{p.stderr[-3000:]}")
        steps = [(r["seconds"] * 1e3, r["bubble_fraction"])
                 for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl"))) if r["kind"] == "epoch"]
        fastest = min(steps)
        return (fastest[0], fastest[1], statistics.median(s for s, _ in steps),
                statistics.median(b for _, b in steps))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    print(f"{STAGES} stages, sleep {FORWARD_MS} ms forward / {BACKWARD_MS} ms backward each; "
          f"medians of {a.runs} runs of 25 steps")
    print(f"{'schedule':8} {'M':>3} | {'simulated':>9} {'fastest':>8} {'ratio':>6} {'median':>8} {'ratio':>6} | "
          f"{'formula':>7} {'sim.':>6} {'fastest':>7} {'median':>7}")
    for schedule in ("gpipe", "1f1b"):
        for m in (4, 8, 16):
            sim = simulate(schedule, m)
            runs = [run(schedule, m) for _ in range(a.runs)]
            fast, fast_bubble, med, med_bubble = (statistics.median(r[i] for r in runs) for i in range(4))
            print(f"{schedule:8} {m:3d} | {sim['step_ms']:7.1f}ms {fast:6.1f}ms {fast / sim['step_ms']:6.3f} "
                  f"{med:6.1f}ms {med / sim['step_ms']:6.3f} | {sim['formula']:7.3f} {sim['bubble_fraction']:6.3f} "
                  f"{fast_bubble:7.3f} {med_bubble:7.3f}", flush=True)


if __name__ == "__main__":
    main()
