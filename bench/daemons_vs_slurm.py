#!/usr/bin/env python3
"""The daemons' latencies, with a local Slurm as the peer, in one run (root: Slurm and munge).

1. Submit -> all ranks running on an idle cluster, p50 and p99 over --reps, alternated:
   `trainyard submit` of a 2-rank job to a coordinator with one 2-slot worker, until both
   rank processes run; `sbatch -n 2` of a script whose `srun` starts 2 tasks, until both
   have started (each touches a file first). Each is canceled and gone before the next.
2. Worker loss: a 2-rank job on workers w1 and w2 (1 slot each, w3 spare), checkpointing
   every 20 steps; w2 (rank 1's) is SIGKILLed after 45 steps. Times from the kill until the
   coordinator takes the job out of `running` (detection), until it places the new attempt,
   and until the new attempt logs a training step (training again: its ranks start, meet,
   load the checkpoint and train).
3. `trainyard jobs` (the newest 1000, as a table and --json) with 10,000 jobs in the store,
   p50 and p99 over --list-reps.

    python3 bench/daemons_vs_slurm.py [--reps 30] [--loss-reps 3] [--binary build/trainyard]
"""
import argparse, concurrent.futures, json, os, re, signal, statistics, subprocess, sys, tempfile, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=30)
ap.add_argument("--loss-reps", type=int, default=3)
ap.add_argument("--list-reps", type=int, default=50)
ap.add_argument("--jobs", type=int, default=10000)
ap.add_argument("--binary", default=os.path.join(ROOT, "build", "trainyard"))
args = ap.parse_args()
JOB = os.path.join(ROOT, "examples", "fashion_mnist_mlp.yaml")
MLP = ["--set", "log.every_steps=1", "--set", "data.batch_size=96", "--set", "data.train_subset=20000",
       "--set", "validation.fraction=0", "--set", "data.test=", "--set", "runtime.threads=1",
       "--set", "optimizer.name=sgd"]
SLURM = os.path.join(ROOT, "tests", "integration", "slurm_cluster.sh")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def wait(pred, limit_s, what):
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    sys.exit(f"timed out after {limit_s} s waiting for {what}")


class Daemons:
    """A coordinator and workers on loopback in `d`."""

    def __init__(self, d):
        self.d, self.procs = d, {}
        os.makedirs(d, exist_ok=True)
        log = open(f"{d}/coordinator.log", "w")
        self.procs["coordinator"] = subprocess.Popen(
            [args.binary, "coordinator", "--listen", "127.0.0.1:0", "--state-dir", f"{d}/state", "--runs-dir",
             f"{d}/runs"], stdout=log, stderr=subprocess.STDOUT)
        self.url = wait(lambda: (re.findall(r"listening on (http://\S+)", open(f"{d}/coordinator.log").read())
                                 or [None])[0], 20, "the coordinator")
        self.token = open(f"{d}/state/token").read().strip()
        self.env = dict(os.environ, TRAINYARD_COORDINATOR=self.url, TRAINYARD_STATE_DIR=f"{d}/state")

    def worker(self, name, slots):
        log = open(f"{self.d}/{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            [args.binary, "worker", "--slots", str(slots), "--work-dir", f"{self.d}/work-{name}", "--name", name],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        wait(lambda: any(w["name"] == name for w in self.api("/api/v1/workers")["workers"]), 20, f"worker {name}")

    def api(self, path, body=None):
        req = urllib.request.Request(self.url + path, data=body, headers={"Authorization": "Bearer " + self.token})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def cli(self, *a):
        p = subprocess.run([args.binary, *a], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=self.env)
        if p.returncode != 0:
            sys.exit(f"trainyard {' '.join(a)} exited {p.returncode}:\n{p.stdout}")
        return p.stdout

    def stop(self):
        for p in self.procs.values():
            p.kill()
            p.wait()


def rank_pids(pattern):
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if pattern in open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"):
                    out.append(int(pid))
            except OSError:
                pass
    return out


def trainyard_submit_to_running(daemons, work):
    t0 = time.monotonic()
    out = daemons.cli("submit", JOB, "--ranks", "2", *MLP, "--set", "train.epochs=1000")
    job = out.strip().splitlines()[-1]
    wait(lambda: len(rank_pids(f"{work}/{job}/1/rank-")) == 2, 30, f"job {job}'s ranks")
    dt = time.monotonic() - t0
    daemons.cli("cancel", job)
    wait(lambda: not rank_pids(f"{work}/{job}/"), 30, f"job {job}'s ranks to end")
    wait(lambda: daemons.api("/api/v1/workers")["workers"][0]["busy"] == 0, 30, "the slots to free")
    return dt


def slurm_submit_to_running(env, d, i):
    marks = [f"{d}/mark-{i}-{r}" for r in range(2)]
    script = f"{d}/job-{i}.sh"
    with open(script, "w") as f:
        f.write(f"#!/bin/bash\ntouch {d}/batch-{i}\nsrun -n 2 bash -c 'touch {d}/mark-{i}-$SLURM_PROCID; sleep 300'\n")
    t0 = time.monotonic()
    out = subprocess.run(["sbatch", "-n", "2", "--parsable", "-o", "/dev/null", script], stdout=subprocess.PIPE,
                         text=True, env=env, check=True).stdout
    wait(lambda: os.path.exists(f"{d}/batch-{i}"), 60, "the Slurm job's batch script")
    batch = time.monotonic() - t0
    wait(lambda: all(os.path.exists(m) for m in marks), 60, "the Slurm job's tasks")
    dt = time.monotonic() - t0
    jid = out.strip().split(";")[0]
    subprocess.run(["scancel", jid], env=env, check=True)
    wait(lambda: subprocess.run(["squeue", "-h", "-j", jid], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, env=env).stdout.strip() == "", 60, "the Slurm job to end")
    return dt, batch


def submit_latency(d):
    daemons = Daemons(f"{d}/ty")
    daemons.worker("w1", 2)
    started = subprocess.run([SLURM, "start", f"{d}/slurm"], stdout=subprocess.PIPE, text=True, check=True).stdout
    env = dict(os.environ, SLURM_CONF=re.findall(r"SLURM_CONF=(\S+)", started)[0])
    try:
        ty, sl, batch = [], [], []
        for i in range(args.reps):  # alternated, so that noise falls on both
            ty.append(trainyard_submit_to_running(daemons, f"{d}/ty/work-w1"))
            tasks, script = slurm_submit_to_running(env, d, i)
            sl.append(tasks)
            batch.append(script)
            print(f"  rep {i + 1}: trainyard {ty[-1] * 1000:.0f} ms, slurm {sl[-1] * 1000:.0f} ms "
                  f"(its batch script from {script * 1000:.0f} ms)", flush=True)
    finally:
        subprocess.run([SLURM, "stop", f"{d}/slurm"])
        daemons.stop()
    print(f"submit -> 2 ranks running, {args.reps} reps:")
    for q in (50, 99):
        print(f"  p{q}: trainyard {pct(ty, q) * 1000:.0f} ms, slurm (sbatch + srun) {pct(sl, q) * 1000:.0f} ms, "
              f"ratio {pct(ty, q) / pct(sl, q):.3f}; against the batch script alone ({pct(batch, q) * 1000:.0f} ms) "
              f"{pct(ty, q) / pct(batch, q):.3f}")


def worker_loss(d):
    daemons = Daemons(d)
    for w in ("w1", "w2", "w3"):
        daemons.worker(w, 1)
    out = daemons.cli("submit", JOB, "--ranks", "2", *MLP, "--set", "train.max_steps=100000", "--set",
                      "train.epochs=1000", "--set", "checkpoint.every_steps=20")
    job = out.strip().splitlines()[-1]
    metrics = f"{d}/runs/{job}/metrics.jsonl"
    steps = lambda: sum(1 for l in open(metrics) if '"kind":"train"' in l) if os.path.exists(metrics) else 0
    wait(lambda: steps() >= 45, 120, "45 steps")
    placed = daemons.api(f"/api/v1/jobs/{job}")["history"][-1]["cause"]
    victim = re.findall(r"(w\d) \(rank 1\)|(w\d) \(ranks? [0-9,]*1\b", placed)[0]
    victim = victim[0] or victim[1]
    t0, wall0 = time.monotonic(), time.time()
    daemons.procs[victim].send_signal(signal.SIGKILL)
    wait(lambda: daemons.api(f"/api/v1/jobs/{job}")["state"] != "running", 60, "detection")
    detect = time.monotonic() - t0
    wait(lambda: daemons.api(f"/api/v1/jobs/{job}")["attempt"] >= 2, 60, "attempt 2")
    attempt_log = f"{d}/runs/.logs/{job}/2/rank-0.log"
    def trained_again():
        if not os.path.exists(attempt_log):
            return False
        return re.search(r"step \d+/", open(attempt_log).read()) is not None
    wait(trained_again, 120, "training again")
    again = time.monotonic() - t0
    history = daemons.api(f"/api/v1/jobs/{job}")["history"]
    placed = [h["at_ms"] / 1000 - wall0 for h in history if h["state"] == "running"][-1]
    if "resuming from" not in open(attempt_log).read():
        sys.exit(f"attempt 2 of job {job} did not resume from a checkpoint")
    daemons.cli("cancel", job)
    daemons.stop()
    return detect, again, history[2]["cause"].split(":")[0], placed


def listing(d):
    daemons = Daemons(d)
    spec = json.dumps({"spec": open(JOB).read(), "overrides": ["train.epochs=1"]}).encode()
    t0 = time.monotonic()

    def one(_):
        job = daemons.api("/api/v1/jobs", spec)["id"]
        if job % 10:  # most have ended; one in ten stays queued (no worker has registered)
            daemons.api(f"/api/v1/jobs/{job}/cancel", b"")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(args.jobs)))
    print(f"  stored {args.jobs} jobs in {time.monotonic() - t0:.1f} s")
    times = {"jobs": [], "jobs --json": []}
    for _ in range(args.list_reps):
        for k in times:
            t = time.monotonic()
            daemons.cli(*k.split())
            times[k].append(time.monotonic() - t)
    daemons.stop()
    print(f"`trainyard jobs` with {args.jobs} jobs in the store, {args.list_reps} reps (the whole command):")
    for k, v in times.items():
        print(f"  {k}: p50 {pct(v, 50) * 1000:.0f} ms, p99 {pct(v, 99) * 1000:.0f} ms")


with tempfile.TemporaryDirectory() as d:
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "slurm-wlm"], stdout=subprocess.PIPE, text=True)
    print(f"trainyard: {args.binary}; Slurm {version.stdout} (tests/integration/slurm_cluster.sh)")
    submit_latency(d)
    results = []
    for i in range(args.loss_reps):
        results.append(worker_loss(f"{d}/loss{i}"))
        det, again, cause, placed = results[-1]
        print(f"  worker loss {i + 1}: detected {det:.2f} s, placed again {placed:.2f} s, training again {again:.2f} s "
              f"(of which the new ranks' start, rendezvous and checkpoint load {again - placed:.2f} s; {cause})",
              flush=True)
    print(f"worker loss, median of {args.loss_reps}: detected {statistics.median(r[0] for r in results):.2f} s "
          f"(target 5), training again {statistics.median(r[1] for r in results):.2f} s (target 15 + load)")
    listing(f"{d}/list")
