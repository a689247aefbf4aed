#!/usr/bin/python3
"""A diagnostic beside bench/seq2seq_vs_pytorch.py: does one training step of the translation
example compute the same loss and gradients in trainyard and in the bench's PyTorch model?

trainyard trains the first 32 training records (one batch) for one SGD step without dropout,
clipping, weight decay or schedule, twice: with lr 1e-30 (its weights are then its initial
ones, w0) and with lr 1 (w1 = w0 - g, so g = w0 - w1). PyTorch loads w0, computes the same
batch's loss (label smoothing 0.1, padding ignored) and its gradients. Prints both losses and,
per tensor, the relative L2 difference of the gradients (float32 rounding of w0 - w1 leaves
about 1e-4).

  /usr/bin/python3 bench/seq2seq_gradient_parity.py
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_vs_pytorch as b  # noqa: E402


def read_weights(path):
    import numpy as np
    data = open(path, "rb").read()
    assert data[:8] == b"TYWEIGHT", path
    _, count = struct.unpack("<II", data[8:16])
    off, out = 16, {}
    for _ in range(count):
        (n,) = struct.unpack("<I", data[off:off + 4])
        name = data[off + 4:off + 4 + n].decode()
        off += 4 + n
        dtype = data[off]
        (ndim,) = struct.unpack("<I", data[off + 1:off + 5])
        dims = struct.unpack("<%dq" % ndim, data[off + 5:off + 5 + 8 * ndim])
        off += 5 + 8 * ndim
        assert dtype == 0, name
        count_ = int(np.prod(dims)) if dims else 1
        out[name] = np.frombuffer(data[off:off + 4 * count_], np.float32).reshape(dims).copy()
        off += 4 * count_
    return out


def trainyard_step(lr, run_dir):
    cmd = [b.trainyard_binary(), "train", b.EXAMPLE, "--run-dir", run_dir]
    for s in ("data.train_subset=32", "train.max_steps=1", "train.epochs=1", "optimizer.name=sgd", f"optimizer.lr={lr}",
              "optimizer.weight_decay=0", "schedule.kind=constant", "schedule.warmup_steps=0", "train.clip_grad_norm=0", "model.dropout=0",
              "data.val=", "data.test=", "log.every_steps=1", "runtime.threads=2", f"data.train={b.SHARDS}-train-*"):
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr[-3000:])
    loss = [json.loads(line)["loss"] for line in open(os.path.join(run_dir, "metrics.jsonl")) if '"kind":"train"' in line][0]
    return loss, read_weights(os.path.join(run_dir, "weights.bin"))


def torch_name(k):
    """trainyard's names (the example's Sequential) -> the bench's PyTorch names."""
    layer, rest = k.split(".", 1)
    i = int(layer)
    if i == 0:
        return "emb.weight" if rest == "weight" else "pos"
    if 1 <= i <= 3:
        return f"enc.{i - 1}.{rest}"
    if i == 4:
        return f"enc_ln.{rest}"
    if 5 <= i <= 7:
        return f"dec.{i - 5}.{rest}"
    return f"dec_ln.{rest.split('.', 1)[1]}"


def main():
    import numpy as np
    import torch
    import torch.nn.functional as F
    with tempfile.TemporaryDirectory() as d:
        _, w0 = trainyard_step(1e-30, os.path.join(d, "w0"))
        ty_loss, w1 = trainyard_step(1.0, os.path.join(d, "w1"))
    vocab, bos, eos = b.vocab_facts()
    torch.manual_seed(0)
    model = b.torch_model()(vocab)
    state = {torch_name(k): torch.from_numpy(v) for k, v in w0.items()}
    missing = model.load_state_dict(state, strict=True)
    model.eval()  # no dropout
    x, y = b.read_shards(b.SHARDS + "-train-*.tyshard")
    x, y = torch.from_numpy(x[:32]), torch.from_numpy(y[:32])
    src_len, tgt_in, labels = b.batch_fields(x, y, bos, eos)
    logits = model(x, src_len, tgt_in)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-1,
                           label_smoothing=b.SMOOTH)
    loss.backward()
    print(f"loss of the batch: trainyard {ty_loss:.6f}, PyTorch {loss.item():.6f} ({missing})")
    params = dict(model.named_parameters())
    worst, total_d, total_g = 0.0, 0.0, 0.0
    for k in w0:
        g_ty = (w0[k].astype(np.float64) - w1[k].astype(np.float64))
        g_pt = params[torch_name(k)].grad.double().numpy()
        diff, norm = np.linalg.norm(g_ty - g_pt), np.linalg.norm(g_pt)
        total_d += diff ** 2
        total_g += norm ** 2
        rel = diff / max(norm, 1e-12)
        worst = max(worst, rel)
        if rel > 1e-2:
            print(f"  {k}: relative difference {rel:.2e} (|g| {norm:.3e})")
    print(f"gradients: relative L2 difference over all tensors {np.sqrt(total_d / total_g):.2e}, worst tensor "
          f"{worst:.2e}")


if __name__ == "__main__":
    main()
