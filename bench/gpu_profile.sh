#!/bin/bash
# Where a GPU training step spends its time, kernel by kernel, for one case of
# bench/gpu_step_vs_pytorch.py: trainyard's step under Nsight Compute (one step after one
# warm-up, convolution algorithms from cuDNN's heuristics so that no timing runs are
# profiled) and PyTorch's step under torch.profiler. Run on the GPU machine after
# `source tests/device/env.sh BUILD`.
#   bench/gpu_profile.sh BUILD "--model cnn --batch 512 --sizes 128,256" [--tf32]
set -uo pipefail
build=$1 args=$2 tf32=${3:-}
echo "== trainyard: $args $tf32 (ncu, gpu__time_duration per kernel, microseconds summed by name)"
timeout 150 ncu --metrics gpu__time_duration.sum --csv --print-units base \
  "$build/bench/gpu_step" $args $tf32 --steps 1 --warmup 1 --no-cudnn-benchmark 2>/dev/null |
  python3 -c '
import csv, sys, collections
rows = [r for r in csv.reader(l for l in sys.stdin if l.startswith("\""))]
head, body = rows[0], rows[1:]
name, value = head.index("Kernel Name"), head.index("Metric Value")
# The last step: the second half of the launches (one warm-up step, one timed step).
body = body[len(body) // 2:]
total = collections.Counter()
for r in body: total[r[name][:90]] += float(r[value].replace(",", "")) / 1000
for k, v in total.most_common(25): print(f"{v:9.1f} us  {k}")
print(f"{sum(total.values()):9.1f} us  total, {len(body)} kernels")
'
echo "== pytorch: same case (torch.profiler, CUDA time per kernel, microseconds over 5 steps / 5)"
python3 - "$args" "$tf32" <<'PY'
import sys, torch, torch.nn.functional as F
sys.path.insert(0, "bench")
from gpu_step_vs_pytorch import torch_model
a = sys.argv[1].split(); kw = dict(zip(a[::2], a[1::2]))
sizes = tuple(int(v) for v in kw["--sizes"].split(",")); batch = int(kw["--batch"])
kind = kw["--model"]; in_shape = (1, 28, 28) if kind == "cnn" else (1024,)
tf32 = sys.argv[2] == "--tf32"
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
net = torch_model(kind, sizes, in_shape).cuda()
opt = torch.optim.Adam(net.parameters(), lr=1e-3, foreach=True)
x = torch.randn(batch, *in_shape, device="cuda"); y = torch.randint(0, 10, (batch,), device="cuda")
def step():
    loss = F.cross_entropy(net(x), y); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
for _ in range(10): step()
torch.cuda.synchronize()
with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
    for _ in range(5): step()
    torch.cuda.synchronize()
def device_us(e):
    return (getattr(e, "device_time_total", None) or getattr(e, "cuda_time_total", 0)) / 5
kernels = [e for e in prof.key_averages() if str(getattr(e, "device_type", "")).endswith("CUDA")]
rows = sorted(((e.key, device_us(e)) for e in kernels), key=lambda r: -r[1])
for k, v in rows[:25]: print(f"{v:9.1f} us  {k[:90]}")
print(f"{sum(v for _, v in rows):9.1f} us  total")
PY
