#!/usr/bin/python3
"""The translation example (examples/bible_es_en_transformer.yaml: Spanish -> English Bible
verses, a 3 + 3 block pre-norm Transformer, 256 dimensions, joint 4,000-piece SentencePiece
vocabulary) against the same model in PyTorch (Debian's 1.13), on the same shards, in one run:

  time     step time on 1 thread, steady state: each side trains --epochs epochs of 20 steps
           in one process and keeps its best epoch; medians over --runs launches.
  bleu     test BLEU after the example's steps (--steps), --seeds seeds a side (each side its
           own data order), both decoded with beam 5 (length penalty 1, at most 1.5 x source
           + 10 tokens) and scored by `trainyard bleu` against the same references (the test
           shard's targets, decoded by the SentencePiece model beside the shards). The two
           sides of a seed train at once, one core and 1 thread each; every finished seed is
           kept in --keep (scores, hypotheses, weights), so a later launch goes on with the
           seeds that are missing.
  decode   beam-5 decoding of the test split (1,171 verses, 64 sentences at a time, 1 thread,
           nothing else running): `trainyard translate` with trainyard's seed-1 weights vs a
           batched PyTorch beam search with the same rule and a key/value cache (the peer's
           best: no recomputation of earlier positions) with PyTorch's seed-1 weights, both
           from --keep; medians over --runs, the two sides alternating.

The floor printed with the step times: the step's matrix-product flops at the best rate
oneDNN's matmul reaches on one core here (build/bench/mlp_gemm_floor's 1024^3 product,
measured at the start; --gflops gives it instead).

The models match layer for layer: embeddings N(0, 0.02^2) with learned positions and dropout,
pre-norm blocks (self-attention, the decoder's cross-attention, GELU MLP of 1,024, dropout on
every residual branch), final norms, logits tied to the embedding (no bias); AdamW (decay 0.01
on matrices only), inverse square root schedule after 300 warm-up steps, clipping at 1, label
smoothing 0.1.

  /usr/bin/python3 bench/seq2seq_vs_pytorch.py [--parts time,bleu,decode] [--runs 3] [--seeds 3] [--first-seed 1]
                                                [--steps 1500] [--keep DIR] [--gflops G]
"""
import argparse
import concurrent.futures
import glob
import json
import math
import os
import re
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

EXAMPLE = os.path.join(ROOT, "examples", "bible_es_en_transformer.yaml")
SHARDS = os.environ.get("TY_BENCH_SHARDS", "/usr/local/share/trainyard/bible-es-en/bible")
# TY_BENCH_DEVICE=cuda: the time part on the GPU, both sides (tests/device/check.sh (g)).
DEVICE = os.environ.get("TY_BENCH_DEVICE", "cpu")
BATCH, L, D, HEADS, FF, LAYERS, DROP = 32, 64, 256, 4, 1024, 3, 0.1
LR, WD, WARMUP, CLIP, SMOOTH = 1e-3, 0.01, 300, 1.0, 0.1
BEAM, LENPEN, MAX_A, MAX_B, DECODE_BATCH = 5, 1.0, 1.5, 10, 64
TIME_STEPS = 20
PEER_ENV = {"OPENBLAS_CORETYPE": openblas_coretype(), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def flops_per_step():
    """Multiply-adds x 2 of a training step: forward, and the backward's two products each."""
    n = BATCH * L  # tokens a side
    attention = 2 * 2 * BATCH * L * L * D  # q kT and p v over all heads
    encoder = 2 * n * D * (3 * D + D + 2 * FF) + attention
    decoder = 2 * n * D * (3 * D + D + 2 * FF) + 2 * n * D * (D + 2 * D + D) + 2 * attention
    logits = 2 * n * D * vocab_facts()[0]
    return 3 * (LAYERS * (encoder + decoder) + logits)


# ---------------------------------------------------------------- data


def read_shards(pattern):
    """(x, y) int64 arrays (records, L) of the shard files matching `pattern` (storage/FORMAT.md)."""
    import numpy as np
    xs, ys = [], []
    for path in sorted(glob.glob(pattern)):
        f = open(path, "rb").read()
        index_offset, chunks, _ = struct.unpack("<QQQ", f[-40:-16])
        size = 2 * L * 4 + 4
        for c in range(chunks):
            off, count, _ = struct.unpack("<QII", f[index_offset + 16 * c:index_offset + 16 * c + 16])
            rec = np.frombuffer(f[off:off + count * size], dtype=np.uint8).reshape(count, size)[:, :2 * L * 4]
            pairs = rec.copy().view(np.int32).reshape(count, 2, L)
            xs.append(pairs[:, 0])
            ys.append(pairs[:, 1])
    if not xs:
        sys.exit(f"no shards match {pattern}: run examples/bible_es_en.sh (it imports them) or launch/setup.sh")
    return np.concatenate(xs).astype(np.int64), np.concatenate(ys).astype(np.int64)


def spm():
    import sentencepiece
    return sentencepiece.SentencePieceProcessor(model_file=SHARDS + ".model")


def vocab_facts():
    """(size, <s>, </s>) from PREFIX.vocab (one piece per line, id = line), no sentencepiece needed."""
    pieces = open(SHARDS + ".vocab", encoding="utf-8").read().split("\n")[:-1]
    return len(pieces), pieces.index("<s>"), pieces.index("</s>")


def before_eos(ids, eos):
    out = []
    for i in ids:
        if i == eos:
            break
        out.append(int(i))
    return out


# ---------------------------------------------------------------- trainyard


def trainyard(sets, threads=1):
    with tempfile.TemporaryDirectory() as run_dir:
        cmd = [trainyard_binary(), "train", EXAMPLE, "--set", f"runtime.threads={threads}", "--run-dir", run_dir]
        cmd += [a for s in sets for a in ("--set", s)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"trainyard failed ({' '.join(cmd)}):\n{p.stderr[-3000:]}")
        records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
        weights = os.path.join(run_dir, "weights.bin")
        kept = weights + ".kept"
        os.rename(weights, kept) if os.path.exists(weights) else None
        return records, (open(kept, "rb").read() if os.path.exists(kept) else None)


def trainyard_step_time(epochs):
    records, _ = trainyard(["train.max_steps=0", f"train.epochs={epochs}", f"data.train_subset={TIME_STEPS * BATCH}",
                            "data.val=", "data.test=", f"runtime.device={DEVICE}", f"data.train={SHARDS}-train-*"])
    return min(r["seconds"] for r in records if r["kind"] == "epoch") / TIME_STEPS


def trainyard_bleu(seed, steps):
    records, weights = trainyard([f"train.seed={seed}", f"train.max_steps={steps}", "train.epochs=100",
                                  "data.val=", f"eval.beam_size={BEAM}",
                                  f"data.train={SHARDS}-train-*", f"data.test={SHARDS}-test-*"])
    test = [r for r in records if r["kind"] == "eval" and r["split"] == "test"][-1]
    return test["bleu"], weights


# ---------------------------------------------------------------- PyTorch


def torch_model():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def attend(q, k, v, heads, mask):
        """q (n, tq, d), k and v (n, tk, d); mask (n or 1, 1, tq or 1, tk) True where hidden."""
        n, tq, d = q.shape
        tk, dh = k.shape[1], d // heads
        q, k, v = [a.view(n, -1, heads, dh).transpose(1, 2) for a in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
        if mask is not None:
            att = att.masked_fill(mask, float("-inf"))
        return (att.softmax(-1) @ v).transpose(1, 2).reshape(n, tq, d)

    class Block(nn.Module):
        def __init__(self, decoder):
            super().__init__()
            self.decoder = decoder
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
            if decoder:
                self.cross_ln, self.cross_q = nn.LayerNorm(D), nn.Linear(D, D)
                self.cross_kv, self.cross_proj = nn.Linear(D, 2 * D), nn.Linear(D, D)
            self.fc1, self.fc2 = nn.Linear(D, FF), nn.Linear(FF, D)
            self.drop = nn.Dropout(DROP)

        def forward(self, x, self_mask, kv=None, cross_mask=None, cache=None):
            q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
            if cache is not None:  # decoding: this position's keys and values join the earlier ones
                if "k" in cache:
                    k, v = torch.cat([cache["k"], k], 1), torch.cat([cache["v"], v], 1)
                cache["k"], cache["v"] = k, v
            x = x + self.drop(self.proj(attend(q, k, v, HEADS, self_mask)))
            if self.decoder:
                mk, mv = kv
                x = x + self.drop(self.cross_proj(attend(self.cross_q(self.cross_ln(x)), mk, mv, HEADS, cross_mask)))
            return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))

    class Seq2seq(nn.Module):
        def __init__(self, vocab):
            super().__init__()
            self.emb = nn.Embedding(vocab, D)
            nn.init.normal_(self.emb.weight, std=0.02)
            self.pos = nn.Parameter(torch.randn(L, D) * 0.02)
            self.enc = nn.ModuleList([Block(False) for _ in range(LAYERS)])
            self.enc_ln = nn.LayerNorm(D)
            self.dec = nn.ModuleList([Block(True) for _ in range(LAYERS)])
            self.dec_ln = nn.LayerNorm(D)
            self.drop = nn.Dropout(DROP)
            self.causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)

        def encode(self, src, src_len):
            pad = (torch.arange(src.shape[1], device=src.device)[None, :] >= src_len[:, None])[:, None, None, :]
            h = self.drop(self.emb(src) + self.pos[:src.shape[1]])
            for b in self.enc:
                h = b(h, pad)
            return self.enc_ln(h), pad

        def memory_kv(self, memory):
            return [b.cross_kv(memory).split(D, dim=2) for b in self.dec]

        def forward(self, src, src_len, tgt_in):
            memory, pad = self.encode(src, src_len)
            y = self.drop(self.emb(tgt_in) + self.pos[:tgt_in.shape[1]])
            t = tgt_in.shape[1]
            for b, kv in zip(self.dec, self.memory_kv(memory)):
                y = b(y, self.causal[:t, :t], kv, pad)
            return self.dec_ln(y) @ self.emb.weight.t()

        def step(self, tokens, t, kvs, pad, caches):
            """Decoding: tokens (R,) at position t -> log-probabilities (R, V)."""
            y = self.emb(tokens)[:, None, :] + self.pos[t]
            for b, kv, cache in zip(self.dec, kvs, caches):
                y = b(y, None, kv, pad, cache)
            return (self.dec_ln(y) @ self.emb.weight.t())[:, 0].log_softmax(-1)

    return Seq2seq


def torch_setup(seed, vocab):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    model = torch_model()(vocab)
    opt, sched = torch_setup_optimizer(model)
    return model, opt, sched


def torch_setup_optimizer(model):
    import torch
    emb = {id(model.emb.weight), id(model.pos)}
    decay = [p for p in model.parameters() if p.dim() >= 2 and id(p) not in emb]
    rest = [p for p in model.parameters() if not (p.dim() >= 2 and id(p) not in emb)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": rest, "weight_decay": 0.0}], lr=LR)
    # trainyard's LrSchedule: linear warm-up, then lr * sqrt(warmup / (step + 1))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / WARMUP if s < WARMUP else math.sqrt(WARMUP / (s + 1)))
    return opt, sched


def batch_fields(x, y, bos, eos):
    """Source lengths, decoder input and labels as trainyard's Seq2seqTask makes them."""
    import torch
    is_eos = x == eos
    src_len = torch.where(is_eos.any(1), is_eos.int().argmax(1) + 1, torch.full((len(x),), L, device=x.device))
    src_len = src_len.clamp(max=L)
    tgt_in = torch.cat([torch.full((len(y), 1), bos, device=y.device), y[:, :-1]], 1)
    ended = torch.cumsum((y == eos).int(), 1)
    labels = torch.where((ended - (y == eos).int()) > 0, torch.full_like(y, -1), y)
    return src_len, tgt_in, labels


def torch_step(model, opt, sched, x, y, bos, eos):
    import torch
    import torch.nn.functional as F
    src_len, tgt_in, labels = batch_fields(x, y, bos, eos)
    logits = model(x, src_len, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-1,
                           label_smoothing=SMOOTH)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    sched.step()
    return loss


def beam_search(model, sources, bos, eos):
    """fairseq's rule, as worker/trainer/translation.h describes it, batched, cached."""
    import torch
    out = []
    for first in range(0, len(sources), DECODE_BATCH):
        part = sources[first:first + DECODE_BATCH]
        s_count, rows = len(part), len(part) * BEAM
        ls = max(len(s) for s in part) + 1
        src = torch.full((s_count, ls), eos, dtype=torch.long)
        for i, s in enumerate(part):
            src[i, :len(s)] = torch.tensor(s)
        src_len = torch.tensor([len(s) + 1 for s in part])
        limit = [min(int(MAX_A * len(s) + MAX_B), L - 1) for s in part]
        memory, pad = model.encode(src, src_len)
        expand = torch.arange(s_count).repeat_interleave(BEAM)
        kvs = [(k[expand], v[expand]) for k, v in model.memory_kv(memory)]
        pad = pad[expand]
        caches = [dict() for _ in model.dec]
        tokens = torch.full((rows,), bos, dtype=torch.long)
        scores = torch.full((rows,), float("-inf"))
        scores[::BEAM] = 0
        history = [[] for _ in range(rows)]
        finished = [[] for _ in range(s_count)]
        done = [False] * s_count
        for t in range(max(limit) + 1):
            if all(done):
                break
            logp = model.step(tokens, t, kvs, pad, caches)
            vocab = logp.shape[1]
            cand = (scores[:, None] + logp).view(s_count, BEAM * vocab)
            top_scores, top_idx = cand.topk(2 * BEAM, dim=1)
            parent = torch.arange(rows)
            next_tokens = torch.full((rows,), eos, dtype=torch.long)
            next_scores = torch.full((rows,), float("-inf"))
            for s in range(s_count):
                if done[s]:
                    continue
                if t >= limit[s]:  # at the limit every live hypothesis ends
                    for b in range(BEAM):
                        r = s * BEAM + b
                        if scores[r] > float("-inf"):
                            sc = (scores[r] + logp[r, eos]).item() / (len(history[r]) + 1) ** LENPEN
                            finished[s].append((sc, history[r]))
                    done[s] = True
                    continue
                placed = 0
                for j in range(2 * BEAM):
                    if placed == BEAM:
                        break
                    sc, idx = top_scores[s, j].item(), top_idx[s, j].item()
                    if sc == float("-inf"):
                        break
                    r, tok = s * BEAM + idx // vocab, idx % vocab
                    if tok == eos:
                        if j < BEAM and len(finished[s]) < BEAM:
                            finished[s].append((sc / (len(history[r]) + 1) ** LENPEN, history[r]))
                        continue
                    dst = s * BEAM + placed
                    placed += 1
                    parent[dst], next_tokens[dst], next_scores[dst] = r, tok, sc
                if len(finished[s]) >= BEAM or placed == 0:
                    done[s] = True
                    next_scores[s * BEAM:(s + 1) * BEAM] = float("-inf")
            history = [history[parent[r]] + [int(next_tokens[r])] if next_scores[r] > float("-inf") else []
                       for r in range(rows)]
            for cache in caches:
                cache["k"], cache["v"] = cache["k"][parent], cache["v"][parent]
            tokens, scores = next_tokens, next_scores
        for f in finished:
            out.append(max(f, key=lambda h: h[0])[1] if f else [])
    return out


def torch_worker(part, seed, steps):
    """part time: {"step_s"}; bleu: trains `steps` steps, then {"hyps", "state": a saved state dict};
    decode: `steps` is a saved state dict, {"decode_s"}."""
    os.environ.update(PEER_ENV)
    import torch
    vocab, bos, eos = vocab_facts()
    x, y = read_shards(SHARDS + "-train-*.tyshard")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    model, opt, sched = torch_setup(seed, vocab)
    if part == "time":
        xs, ys, best = x[:TIME_STEPS * BATCH].to(DEVICE), y[:TIME_STEPS * BATCH].to(DEVICE), float("inf")
        if DEVICE != "cpu":
            model.to(DEVICE)
            model.causal = model.causal.to(DEVICE)
            opt, sched = torch_setup_optimizer(model)
        g = torch.Generator().manual_seed(1)
        sync = torch.cuda.synchronize if DEVICE != "cpu" else (lambda: None)
        for _ in range(steps):  # (epochs)
            sync()
            t0 = time.perf_counter()
            perm = torch.randperm(len(xs), generator=g).to(DEVICE)
            for i in range(TIME_STEPS):
                idx = perm[i * BATCH:(i + 1) * BATCH]
                torch_step(model, opt, sched, xs[idx], ys[idx], bos, eos)
            sync()
            best = min(best, time.perf_counter() - t0)
        return {"step_s": best / TIME_STEPS}
    if part == "decode":  # `steps` names the kept state dict
        model.load_state_dict(torch.load(steps))
    else:
        g = torch.Generator().manual_seed(seed)
        perm = torch.cat([torch.randperm(len(x), generator=g) for _ in range(steps * BATCH // len(x) + 1)])
        for i in range(steps):
            idx = perm[i * BATCH:(i + 1) * BATCH]
            torch_step(model, opt, sched, x[idx], y[idx], bos, eos)
    model.eval()
    tx, ty = read_shards(SHARDS + "-test-*.tyshard")
    sources = [before_eos(r, eos) for r in tx]
    with torch.no_grad():
        t0 = time.perf_counter()
        hyps = beam_search(model, sources, bos, eos)
        decode_s = time.perf_counter() - t0
    if part == "decode":
        return {"decode_s": decode_s}
    state = os.path.join(tempfile.gettempdir(), f"seq2seq_bench_torch_{os.getpid()}.pt")
    torch.save(model.state_dict(), state)
    sp = spm()
    return {"hyps": [sp.decode(h) for h in hyps], "state": state}


def in_subprocess(part, seed, steps):
    env = dict(os.environ, **PEER_ENV)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", part, str(seed), str(steps)],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"PyTorch worker {part} {seed} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bleu_of(hyps, refs_path):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(h + "\n" for h in hyps))
    out = subprocess.run([trainyard_binary(), "bleu", f.name, refs_path, "--json"], capture_output=True, text=True)
    os.unlink(f.name)
    if out.returncode != 0:
        sys.exit(f"trainyard bleu failed: {out.stderr}")
    return json.loads(out.stdout.splitlines()[0])["score"]


def trainyard_decode_time(weights, sources_path):
    with tempfile.TemporaryDirectory() as d:
        w = os.path.join(d, "weights.bin")
        open(w, "wb").write(weights)
        out = subprocess.run([trainyard_binary(), "translate", EXAMPLE, "--weights", w, "--input", sources_path,
                              "--beam", str(BEAM), "--set", "runtime.threads=1", "--set", "data.val=", "--set",
                              "data.test=", "--set", f"data.train={SHARDS}-train-*"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"trainyard translate failed: {out.stderr[-2000:]}")
    return float(re.search(r"lines in ([0-9.]+) s", out.stderr).group(1))


# ---------------------------------------------------------------- main


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        steps = sys.argv[4] if sys.argv[2] == "decode" else int(sys.argv[4])
        print(json.dumps(torch_worker(sys.argv[2], int(sys.argv[3]), steps)))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="time,bleu,decode")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=1, help="run seeds --first-seed .. --seeds (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--gflops", type=float, default=0, help="oneDNN matmul rate on one core (default: measured)")
    ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "seq2seq_bench"),
                    help="where finished seeds are kept (default: %(default)s)")
    args = ap.parse_args()
    os.environ.update(PEER_ENV)
    parts = args.parts.split(",")
    if not glob.glob(SHARDS + "-test-*.tyshard"):
        sys.exit(f"{SHARDS}-*: no shards; run examples/bible_es_en.sh once (it imports them)")
    if "time" in parts and args.gflops <= 0:
        out = subprocess.run([os.path.join(ROOT, "build", "bench", "mlp_gemm_floor"), "1", "1"], capture_output=True,
                             text=True).stdout
        args.gflops = json.loads(out)["peak_gflops"]
        print(f"oneDNN matmul peak on 1 core (1024^3): {args.gflops:.1f} GFLOP/s", flush=True)
    if "time" in parts:
        ty, pt = [], []
        for r in range(args.runs):
            ty.append(trainyard_step_time(args.epochs))
            pt.append(in_subprocess("time", 1, args.epochs)["step_s"])
            print(f"  run {r + 1}: trainyard {ty[-1]:.4f} s/step, PyTorch {pt[-1]:.4f} s/step", flush=True)
        t, p = statistics.median(ty), statistics.median(pt)
        floor = flops_per_step() / (args.gflops * 1e9)
        print(f"seq2seq step, 1 thread, batch {BATCH} x {L} + {L}: trainyard {t:.4f} s / PyTorch {p:.4f} s = "
              f"ratio {t / p:.3f}; floor {floor:.4f} s ({flops_per_step() / 1e9:.1f} GFLOP at {args.gflops:.1f} "
              f"GFLOP/s) = {floor / p:.3f} of PyTorch", flush=True)
    if "bleu" in parts or "decode" in parts:
        sp = spm()
        tx, ty_ = read_shards(SHARDS + "-test-*.tyshard")
        refs = os.path.join(tempfile.gettempdir(), "seq2seq_bench_refs.en")
        srcs = os.path.join(tempfile.gettempdir(), "seq2seq_bench_sources.es")
        open(refs, "w").write("".join(sp.decode(before_eos(r, sp.eos_id())) + "\n" for r in ty_))
        open(srcs, "w").write("".join(sp.decode(before_eos(r, sp.eos_id())) + "\n" for r in tx))
        seeds = range(args.first_seed, args.seeds + 1)
        os.makedirs(args.keep, exist_ok=True)
        ty_bleu, pt_bleu = [], []
        for s in seeds:
            kept = os.path.join(args.keep, f"seed{s}-{args.steps}.json")
            if not os.path.exists(kept):
                if "bleu" not in parts:
                    sys.exit(f"{kept}: missing; the decode part needs the bleu part's seed-1 weights")
                print(f"  seed {s}: training both sides at once, {args.steps} steps ...", flush=True)
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    ty_run = pool.submit(trainyard_bleu, s, args.steps)
                    peer = pool.submit(in_subprocess, "bleu", s, args.steps).result()
                    b, w = ty_run.result()
                open(kept + ".weights.bin", "wb").write(w)
                shutil.move(peer["state"], kept + ".pt")
                open(kept + ".hyps.en", "w").write("".join(h + "\n" for h in peer["hyps"]))
                json.dump({"trainyard": b, "pytorch": bleu_of(peer["hyps"], refs)}, open(kept + ".tmp", "w"))
                os.rename(kept + ".tmp", kept)
            result = json.load(open(kept))
            ty_bleu.append(result["trainyard"])
            pt_bleu.append(result["pytorch"])
            print(f"  seed {s}: test BLEU trainyard {ty_bleu[-1]:.2f}, PyTorch {pt_bleu[-1]:.2f} ({kept})", flush=True)
            if "bleu" not in parts:
                break
        if "bleu" in parts:
            print(f"test BLEU after {args.steps} steps, beam {BEAM}, seeds {list(seeds)}: trainyard "
                  f"{[round(b, 2) for b in ty_bleu]} mean {statistics.mean(ty_bleu):.2f}; PyTorch "
                  f"{[round(b, 2) for b in pt_bleu]} mean {statistics.mean(pt_bleu):.2f}; difference "
                  f"{statistics.mean(ty_bleu) - statistics.mean(pt_bleu):+.2f}", flush=True)
        if "decode" in parts:
            kept = os.path.join(args.keep, f"seed1-{args.steps}.json")
            weights = open(kept + ".weights.bin", "rb").read()
            td, pd = [], []
            for r in range(args.runs):
                td.append(trainyard_decode_time(weights, srcs))
                pd.append(in_subprocess("decode", 1, kept + ".pt")["decode_s"])
                print(f"  run {r + 1}: trainyard {td[-1]:.1f} s, PyTorch {pd[-1]:.1f} s", flush=True)
            t, p = statistics.median(td), statistics.median(pd)
            print(f"beam-{BEAM} decoding of the {len(tx)} test verses, 1 thread: trainyard {t:.1f} s / PyTorch "
                  f"{p:.1f} s = ratio {t / p:.3f}", flush=True)

if __name__ == "__main__":
    main()
