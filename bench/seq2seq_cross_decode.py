#!/usr/bin/python3
"""A diagnostic beside bench/seq2seq_vs_pytorch.py: PyTorch's trained weights of a kept seed,
converted to a trainyard weights file, decoded by `trainyard translate` (beam 5) and scored
against the same references; identical translations mean the forward pass and the decoder
agree, so a BLEU gap comes from training.

  /usr/bin/python3 bench/seq2seq_cross_decode.py SEED [--keep DIR] [--steps 1500]
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seq2seq_vs_pytorch as b  # noqa: E402
import torch  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("seed", type=int)
ap.add_argument("--keep", default=os.path.join(tempfile.gettempdir(), "seq2seq_bench"))
ap.add_argument("--steps", type=int, default=1500)
args = ap.parse_args()
kept = os.path.join(args.keep, f"seed{args.seed}-{args.steps}.json")
sd = torch.load(kept + '.pt', map_location='cpu')


def ty_name(k):
    """The bench's PyTorch names -> the example's trainyard names (layer indices of its Sequential)."""
    if k == 'emb.weight': return '0.weight'
    if k == 'pos': return '0.positions'
    if k.startswith('enc_ln.'): return '4.' + k.split('.', 1)[1]
    if k.startswith('dec_ln.'): return '8.norm.' + k.split('.', 1)[1]
    part, i, rest = k.split('.', 2)
    return f"{(1 if part == 'enc' else 5) + int(i)}.{rest}"


# A version-1 weights file (storage/weights_file.h: zlib's CRC32 at the end).
body = b''
for k, v in sd.items():
    name = ty_name(k).encode()
    a = v.detach().float().contiguous().numpy()
    body += struct.pack('<I', len(name)) + name + bytes([0]) + struct.pack('<I', a.ndim) + struct.pack('<%dq' % a.ndim, *a.shape) + a.tobytes()
data = b'TYWEIGHT' + struct.pack('<II', 1, len(sd)) + body
data += struct.pack('<I', zlib.crc32(data) & 0xffffffff)
w = kept + '.pytorch-as-trainyard.bin'
open(w, 'wb').write(data)
srcs = os.path.join(tempfile.gettempdir(), 'seq2seq_bench_sources.es')
refs = os.path.join(tempfile.gettempdir(), 'seq2seq_bench_refs.en')
sp = b.spm()
tx, ty_ = b.read_shards(b.SHARDS + '-test-*.tyshard')
open(refs, 'w').write(''.join(sp.decode(b.before_eos(r, sp.eos_id())) + '\n' for r in ty_))
open(srcs, 'w').write(''.join(sp.decode(b.before_eos(r, sp.eos_id())) + '\n' for r in tx))
out = subprocess.run([b.trainyard_binary(), 'translate', b.EXAMPLE, '--weights', w, '--input', srcs, '--beam', '5',
                      '--set', 'runtime.threads=1', '--set', 'data.val=', '--set', 'data.test=',
                      '--set', f'data.train={b.SHARDS}-train-*'], capture_output=True, text=True)
if out.returncode: sys.exit(out.stderr[-2000:])
hyps = out.stdout.splitlines()
print('PyTorch weights, trainyard decoder: BLEU', b.bleu_of(hyps, refs))
pt_hyps = open(kept + '.hyps.en').read().splitlines()
print('PyTorch weights, PyTorch decoder (kept): BLEU', b.bleu_of(pt_hyps, refs))
same = sum(1 for a, c in zip(hyps, pt_hyps) if a == c)
print(f'identical translations: {same} of {len(hyps)}')
