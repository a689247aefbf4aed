#!/usr/bin/python3
"""The GAN example (examples/fashion_mnist_dcgan.yaml: a DCGAN for 28x28 Fashion-MNIST, 100
noise numbers, widths 32/64, Adam 2e-4 with betas (0.5, 0.999), batch 64) against the same
model in PyTorch (Debian's 1.13) on the same images, in one run:

  time  step time on 1 thread, steady state: each side trains --epochs (8) epochs of 40 steps in
        one process and keeps its best epoch; medians over --runs launches.
  fid   FID after --steps steps, --seeds seeds a side (each side its own noise and data
        order), both sides' samples (10,000, generator in evaluation mode, as 8-bit pixels)
        scored by `trainyard fid` in the features of one classifier (the CNN example's model,
        trained by trainyard's seed-1 run and kept in --keep): trainyard's by its run's own
        FID record, PyTorch's exported as an IDX file and scored with `trainyard fid
        --samples`. The two sides of a seed train at once, one core and 1 thread each; every
        finished seed is kept in --keep, so a later launch goes on with the missing ones.

The PyTorch step is the DCGAN example's (pytorch/examples): the discriminator on a real batch
and on the generator's batch (detached), its update, then the generator's update through the
discriminator on the same generated batch; BCE-with-logits; DCGAN's initialization.

  /usr/bin/python3 bench/dcgan_vs_pytorch.py [--parts time,fid] [--runs 3] [--epochs 8] [--seeds 3]
                                             [--steps 1500] [--keep DIR]
"""
import argparse
import concurrent.futures
import gzip
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from fashion_mnist_vs_pytorch import openblas_coretype, trainyard_binary  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "fashion_mnist_dcgan.yaml")
IMAGES = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
BATCH, LATENT, WIDTH, LR, BETAS = 64, 100, 32, 2e-4, (0.5, 0.999)
TIME_STEPS, FID_SAMPLES = 40, 10000
PEER_ENV = {"OPENBLAS_CORETYPE": openblas_coretype(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


# ---------------------------------------------------------------- trainyard


def trainyard(sets, run_dir):
    cmd = [trainyard_binary(), "train", EXAMPLE, "--set", "runtime.threads=1", "--run-dir", run_dir]
    cmd += [a for s in sets for a in ("--set", s)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"trainyard failed ({' '.join(cmd)}):\n{p.stderr[-3000:]}")
    return [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]


def trainyard_step_time(epochs):
    with tempfile.TemporaryDirectory() as d:
        records = trainyard(["train.max_steps=0", f"train.epochs={epochs}", f"data.train_subset={TIME_STEPS * BATCH}",
                             "data.test=", "gan.sample_every_steps=0", "checkpoint.at_end=false"], d)
    return min(r["seconds"] for r in records if r["kind"] == "epoch") / TIME_STEPS


def trainyard_fid(seed, steps, keep, classifier):
    run_dir = os.path.join(keep, f"trainyard-seed{seed}-{steps}")
    shutil.rmtree(run_dir, ignore_errors=True)
    sets = [f"train.seed={seed}", f"train.max_steps={steps}", "train.epochs=100", f"gan.fid_samples={FID_SAMPLES}"]
    if classifier:
        sets.append(f"gan.fid_classifier={classifier}")
    records = trainyard(sets, run_dir)
    fid = [r for r in records if r["kind"] == "eval" and "fid" in r][-1]
    return fid["fid"], fid["fid_floor"], run_dir


# ---------------------------------------------------------------- PyTorch


def load_images():
    import numpy as np
    raw = gzip.open(IMAGES).read()
    n = struct.unpack(">I", raw[4:8])[0]
    return (np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, 28, 28).astype(np.float32) / 255.0) * 2 - 1


def torch_nets():
    import torch.nn as nn
    c = WIDTH
    g = nn.Sequential(nn.ConvTranspose2d(LATENT, 2 * c, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * c), nn.ReLU(True),
                      nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(True),
                      nn.ConvTranspose2d(c, 1, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(nn.Conv2d(1, c, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
                      nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True),
                      nn.Conv2d(2 * c, 1, 7, 1, 0, bias=False), nn.Flatten())

    def init(m):
        name = m.__class__.__name__
        if "Conv" in name:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif "BatchNorm" in name:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    g.apply(init)
    d.apply(init)
    return g, d


def torch_train(seed, steps, images, on_epoch=None, epoch_steps=None):
    """Trains `steps` steps; with `epoch_steps`, calls on_epoch(seconds) after each run of them."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x = torch.from_numpy(images)
    g, d = torch_nets()
    og = torch.optim.Adam(g.parameters(), LR, betas=BETAS)
    od = torch.optim.Adam(d.parameters(), LR, betas=BETAS)
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    per_epoch = len(x) // BATCH
    perm, t0 = torch.randperm(len(x)), time.perf_counter()
    for step in range(steps):
        k = step % per_epoch
        if k == 0 and step > 0:
            perm = torch.randperm(len(x))
        real = x[perm[k * BATCH:(k + 1) * BATCH]]
        fake = g(torch.randn(BATCH, LATENT, 1, 1))
        od.zero_grad()
        (bce(d(real), ones) + bce(d(fake.detach()), zeros)).backward()
        od.step()
        og.zero_grad()
        bce(d(fake), ones).backward()
        og.step()
        if epoch_steps and (step + 1) % epoch_steps == 0:
            on_epoch(time.perf_counter() - t0)
            t0 = time.perf_counter()
    return g


def worker(part, seed, arg):
    images = load_images()
    if part == "time":  # --epochs epochs of TIME_STEPS steps over the same subset, the best one
        epochs, times = int(arg), []
        torch_train(seed, epochs * TIME_STEPS, images[:TIME_STEPS * BATCH], times.append, TIME_STEPS)
        print(json.dumps({"step_s": min(times) / TIME_STEPS}))
        return
    import numpy as np
    import torch
    steps, out = arg.split(":", 1)
    g = torch_train(seed, int(steps), images)
    g.eval()
    with torch.no_grad():
        fake = torch.cat([g(torch.randn(500, LATENT, 1, 1)) for _ in range(FID_SAMPLES // 500)])
    pixels = np.rint((fake.clamp(-1, 1).numpy() + 1) * 127.5).astype(np.uint8).reshape(-1, 28, 28)
    with open(out + "-images-idx3-ubyte", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(pixels), 28, 28) + pixels.tobytes())
    with open(out + "-labels-idx1-ubyte", "wb") as f:
        f.write(struct.pack(">II", 0x801, len(pixels)) + bytes(len(pixels)))
    print(json.dumps({"images": out + "-images-idx3-ubyte"}))


def in_subprocess(part, seed, arg):
    env = dict(os.environ, **PEER_ENV)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", part, str(seed), str(arg)], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"PyTorch worker {part} {seed} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fid_of_samples(images, weights, classifier):
    out = subprocess.run([trainyard_binary(), "fid", EXAMPLE, "--weights", weights, "--classifier", classifier,
                          "--samples", images, "--set", "runtime.threads=2"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"trainyard fid failed:\n{out.stderr[-3000:]}")
    line = [l for l in out.stdout.splitlines() if l.startswith("FID ")][-1]
    return float(line.split()[1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="time,fid")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "dcgan_bench"),
                    help="where finished seeds are kept (default: %(default)s)")
    args = ap.parse_args()
    os.environ.update(PEER_ENV)
    parts = args.parts.split(",")
    if "time" in parts:
        ty, pt = [], []
        for r in range(args.runs):
            ty.append(trainyard_step_time(args.epochs))
            pt.append(in_subprocess("time", 1, args.epochs)["step_s"])
            print(f"  run {r + 1}: trainyard {ty[-1] * 1e3:.1f} ms/step, PyTorch {pt[-1] * 1e3:.1f} ms/step", flush=True)
        t, p = statistics.median(ty), statistics.median(pt)
        print(f"DCGAN step, 1 thread, batch {BATCH}: trainyard {t * 1e3:.1f} ms / PyTorch {p * 1e3:.1f} ms = "
              f"ratio {t / p:.3f}", flush=True)
    if "fid" in parts:
        os.makedirs(args.keep, exist_ok=True)
        classifier = os.path.join(args.keep, "fid_classifier.bin")
        ty_fid, pt_fid = [], []
        for s in range(1, args.seeds + 1):
            kept = os.path.join(args.keep, f"seed{s}-{args.steps}.json")
            if not os.path.exists(kept):
                print(f"  seed {s}: training both sides at once, {args.steps} steps ...", flush=True)
                have = os.path.exists(classifier)
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    ty_run = pool.submit(trainyard_fid, s, args.steps, args.keep, classifier if have else "")
                    peer = pool.submit(in_subprocess, "fid", s,
                                       f"{args.steps}:{os.path.join(args.keep, f'pytorch-seed{s}')}").result()
                    fid, floor, run_dir = ty_run.result()
                if not have:  # seed 1's run trained the classifier every seed is scored with
                    shutil.copy(os.path.join(run_dir, "fid_classifier", "weights.bin"), classifier)
                pt = fid_of_samples(peer["images"], os.path.join(run_dir, "weights.bin"), classifier)
                json.dump({"trainyard": fid, "pytorch": pt, "floor": floor}, open(kept + ".tmp", "w"))
                os.rename(kept + ".tmp", kept)
            result = json.load(open(kept))
            ty_fid.append(result["trainyard"])
            pt_fid.append(result["pytorch"])
            print(f"  seed {s}: FID trainyard {ty_fid[-1]:.2f}, PyTorch {pt_fid[-1]:.2f} (floor {result['floor']:.2f})",
                  flush=True)
        t, p = statistics.mean(ty_fid), statistics.mean(pt_fid)
        print(f"FID after {args.steps} steps, {FID_SAMPLES} samples, seeds 1-{args.seeds}: trainyard "
              f"{[round(f, 2) for f in ty_fid]} mean {t:.2f}; PyTorch {[round(f, 2) for f in pt_fid]} mean {p:.2f}; "
              f"ratio {t / p:.3f}", flush=True)


if __name__ == "__main__":
    main()
