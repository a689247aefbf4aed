#!/usr/bin/env python3
"""The Fashion-MNIST MLP epoch on 2 ranks x 1 thread over UCX against the same run over MPI.

Three contenders in one run, alternated, each the best epoch of 3 in its process (steady
state): `comm.backend: mpi` under mpirun; `comm.backend: ucx` under mpirun (the same
launcher and core binding, the UCX store over MPI); and 2 processes started without mpirun,
meeting through a tcp:// rendezvous store (TRAINYARD_RANK, TRAINYARD_LOCAL_RANK ...), as a
worker daemon starts them (each binds itself to its share of the cores: runtime.bind_cores). Prints the medians over --runs and the ratios against MPI (1.0 = as fast; < 1 faster).

    python3 bench/epoch_ucx_vs_mpi.py [--runs 3] [--binary build/trainyard]
"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--binary", default=os.path.join(ROOT, "build", "trainyard"))
args = ap.parse_args()
JOB = os.path.join(ROOT, "examples", "fashion_mnist_mlp.yaml")
COMMON = ["--set", "train.epochs=3", "--set", "runtime.threads=1", "--set", "validation.fraction=0",
          "--set", "data.test="]
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2"]


def best_epoch(run_dir):
    recs = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    return min(r["seconds"] for r in recs if r["kind"] == "epoch")


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout[-3000:]}")
    return p.stdout


def under_mpirun(backend):
    with tempfile.TemporaryDirectory() as d:
        run(MPIRUN + [args.binary, "train", JOB, *COMMON, "--set", f"comm.backend={backend}", "--run-dir", d + "/r"])
        return best_epoch(d + "/r")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def by_rendezvous():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, TRAINYARD_WORLD_SIZE="2", TRAINYARD_LOCAL_WORLD_SIZE="2",
                   TRAINYARD_RENDEZVOUS=f"tcp://127.0.0.1:{free_port()}")
        cmd = [args.binary, "train", JOB, *COMMON, "--run-dir", d + "/r"]
        other = subprocess.Popen(cmd, env=dict(env, TRAINYARD_RANK="1", TRAINYARD_LOCAL_RANK="1"),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        run(cmd, env=dict(env, TRAINYARD_RANK="0", TRAINYARD_LOCAL_RANK="0"))
        if other.wait(timeout=60) != 0:
            sys.exit("rank 1 failed")
        return best_epoch(d + "/r")


names = ["mpi (mpirun)", "ucx (mpirun)", "ucx (rendezvous)"]
contenders = [lambda: under_mpirun("mpi"), lambda: under_mpirun("ucx"), by_rendezvous]
times = [[] for _ in contenders]
for i in range(args.runs):
    order = [(i + k) % len(contenders) for k in range(len(contenders))]  # rotate who goes first
    for k in order:
        times[k].append(contenders[k]())
    print(f"run {i + 1}: " + ", ".join(f"{names[k]} {times[k][-1]:.3f} s" for k in range(len(names))), flush=True)
base = statistics.median(times[0])
for k in range(len(names)):
    m = statistics.median(times[k])
    print(f"{names[k]:18s} median best epoch {m:.3f} s   ratio to mpi {m / base:.3f}")
