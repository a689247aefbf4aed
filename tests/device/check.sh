#!/bin/bash
# The GPU check, for a machine with a CUDA device (the lent device machine): one script,
# bounded in time, that says plainly what passed and what failed.
#   tests/device/check.sh [BUILD_DIR]     (default: build; on a machine without Debian's
#                                          libraries run tests/device/pack.sh here first)
# It runs:
#   (a) op conformance, CUDA vs the CPU references (tests/runtime/cuda): every KernelBackend
#       kernel, forward and backward, by normalized error with per-kernel tolerances,
#       NaN-poisoned outputs and NaN/Inf checks; cuBLAS GEMM in all transposes; dropout
#       against the CPU's Philox numbers; the caching allocator.
#   (b) training on the GPU against the CPU: per-step losses and test accuracy on a
#       synthetic image set (tests/worker/cuda), then both Fashion-MNIST examples for 2
#       epochs on each device (test accuracy within 1 point).
#   (c) NCCL on one rank: every collective on device tensors, and a data-parallel step
#       with gradient buckets averaged on the comm stream during backward.
#   (d) the step-time benchmark against PyTorch on the same GPU (bench/gpu_step_vs_pytorch.py).
#   (e) with 2 GPUs: a 2-stage pipeline (NCCL send/recv) against one GPU accumulating the
#       same micro-batches.
#   (f) the two language-model examples (LSTM: gemm + gate kernels; Transformer: strided-
#       batched gemm + causal softmax kernels), 200 steps on the CPU and on the GPU: test
#       loss within 0.05 nats, step times, and `generate` on the GPU.
#   (h) the GAN example (transposed convolutions: cuDNN's backward-data as the forward, also
#       checked op by op in (a)), 500 steps on the CPU and on the GPU with one FID
#       classifier: both FIDs (within 1.5x of each other: GAN runs are noisy) and step times.
#   (g) the translation example (masked softmax with key padding, cross-attention, beam
#       search on the device), 400 steps on the CPU and on the GPU: test BLEU (beam 5)
#       within 0.5, step times, and the same model in PyTorch on the same GPU
#       (bench/seq2seq_vs_pytorch.py, TY_BENCH_DEVICE=cuda): step time ratio.
#   (i) GPUDirect Storage: whether cuFile is live here (build/bench/gpu_direct_probe on a file
#       in /tmp, with PyTorch's wheels' libcufile.so.0 when the system has none): a report,
#       not a pass/fail, since a machine without nvidia-fs is still a good GPU machine.
#   (j) the GPU data path (storage.gpu_direct): Fashion-MNIST shards trained on the GPU with
#       the staged path (off), auto and on, against the CPU (first losses to rounding, test
#       accuracy within a point; `on` where cuFile is not live exits 2 saying why: reported),
#       then bench/device_data_path: the staged path against pinned host-to-device copies
#       (target >= 0.9x) and cuFile against the staged path (target >= 1.3x).
# On a GPU machine a skipped test is a failure.
set -uo pipefail
build=${1:-build}
source tests/device/env.sh "$build"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
status=0

# Runs one gtest binary's filter; a failure or a skip (this machine has a GPU) fails it.
run_part() {
  local name=$1 bin=$2 filter=$3 out rc
  echo "== $name"
  out=$(timeout 400 "$bin" --gtest_filter="$filter" 2>&1)
  rc=$?
  echo "$out" | grep -E '^\[ +(OK|FAILED|SKIPPED) +\]|Failure|no GPU check|Which is|error|Expected|actual' | head -60
  if [ $rc -ne 0 ]; then
    echo "$name: FAILED (exit $rc)"; status=1
  elif echo "$out" | grep -q '\[  SKIPPED \]'; then
    echo "$name: FAILED: tests skipped on a machine that should have a GPU"; status=1
  else
    echo "$name: passed"
  fi
}

# Test accuracy of a finished run, from its metrics.jsonl.
accuracy() { grep '"split":"test"' "$1/metrics.jsonl" | grep -o '"accuracy":[0-9.e-]*' | cut -d: -f2; }

run_part "(a) CUDA kernels vs CPU references" "$build/tests/runtime_tests" 'Cuda*:*Conformance*/cuda*:ConvTranspose2d.Cuda*'
run_part "(b) training on the GPU vs the CPU (synthetic images)" "$build/tests/worker_tests" 'CudaTraining*'
data=$build/device-data
[ -f "$data/train-images-idx3-ubyte.gz" ] || data=/usr/share/datasets/fashion-mnist
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "== (b) Fashion-MNIST examples, 2 epochs, CPU vs GPU"
  for model in mlp cnn; do
    for dev in cpu cuda; do
      rm -rf "/tmp/ty-$model-$dev"
      SECONDS=0
      timeout 300 "$build/trainyard" train "examples/fashion_mnist_$model.yaml" --set train.epochs=2 \
        --set "data.train=$data/train-images-idx3-ubyte.gz" --set "data.train_labels=$data/train-labels-idx1-ubyte.gz" \
        --set "data.test=$data/t10k-images-idx3-ubyte.gz" --set "data.test_labels=$data/t10k-labels-idx1-ubyte.gz" \
        --set runtime.device=$dev --run-dir "/tmp/ty-$model-$dev" > "/tmp/ty-$model-$dev.log" 2>&1 \
        || { echo "$model on $dev: FAILED"; tail -5 "/tmp/ty-$model-$dev.log"; status=1; }
      echo "$model on $dev: test accuracy $(accuracy /tmp/ty-$model-$dev), ${SECONDS} s"
    done
    python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print('$model: accuracy GPU - CPU = %+.4f: %s' % (b - a, 'passed' if abs(b - a) <= 0.01 and a > 0.8 else 'FAILED')); sys.exit(abs(b - a) > 0.01 or a <= 0.8)" \
      "$(accuracy /tmp/ty-$model-cpu)" "$(accuracy /tmp/ty-$model-cuda)" || status=1
  done
else
  echo "== (b) Fashion-MNIST examples: no data here (run tests/device/pack.sh and carry BUILD/device-data): FAILED"; status=1
fi
run_part "(c) NCCL on one rank: collectives and a data-parallel step" "$build/tests/comm_tests" 'Nccl*'
echo "== (d) GPU step benchmark vs PyTorch (same GPU, same run)"
for precision in fp32 tf32 bf16; do
  timeout 240 python3 bench/gpu_step_vs_pytorch.py --runs "${BENCH_RUNS:-5}" --steps "${BENCH_STEPS:-50}" \
    --precision $precision --trainyard "$build/bench/gpu_step" || { echo "(d) $precision: FAILED"; status=1; }
done
# (e) Pipeline stages on GPUs: activations and gradients by NCCL send/recv. NCCL takes one
# device per rank of a communicator, so this needs two GPUs (one rank each).
echo "== (e) 2 pipeline stages on 2 GPUs vs one GPU accumulating the same micro-batches"
gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | wc -l)
if [ "$gpus" -ge 2 ] && ! command -v mpirun > /dev/null; then
  echo "(e) needs mpirun (Open MPI), which this machine lacks: not run"
elif [ "$gpus" -ge 2 ]; then
  pipe=(examples/fashion_mnist_mlp.yaml --set runtime.device=cuda --set train.max_steps=50 --set log.every_steps=1
    --set data.test= --set validation.fraction=0 --set "model.hidden=[256,256,256]" --set optimizer.name=sgd
    --set optimizer.momentum=0.9 --set parallel.pipeline.microbatches=4
    --set "data.train=$data/train-images-idx3-ubyte.gz" --set "data.train_labels=$data/train-labels-idx1-ubyte.gz")
  rm -rf /tmp/ty-pipe-1 /tmp/ty-pipe-2
  timeout 200 "$build/trainyard" train "${pipe[@]}" --run-dir /tmp/ty-pipe-1 > /tmp/ty-pipe-1.log 2>&1 ||
    { tail -5 /tmp/ty-pipe-1.log; status=1; }
  timeout 200 mpirun --allow-run-as-root -np 2 -x LD_LIBRARY_PATH "$build/trainyard" train "${pipe[@]}" \
    --set parallel.pipeline.stages=2 --run-dir /tmp/ty-pipe-2 > /tmp/ty-pipe-2.log 2>&1 || { tail -5 /tmp/ty-pipe-2.log; status=1; }
  python3 - /tmp/ty-pipe-1 /tmp/ty-pipe-2 <<'PY' || status=1
import json, sys
def losses(d): return [r["loss"] for r in map(json.loads, open(d + "/metrics.jsonl")) if r["kind"] == "train"]
a, b = losses(sys.argv[1]), losses(sys.argv[2])
worst = max((abs(x - y) / abs(x) for x, y in zip(a, b)), default=1)
bubble = [r.get("bubble_fraction") for r in map(json.loads, open(sys.argv[2] + "/metrics.jsonl")) if r["kind"] == "epoch"]
ok = len(a) == len(b) == 50 and worst <= 1e-4
print("(e) %d steps, worst relative loss difference %.2e, bubble %s: %s" % (len(b), worst, bubble, "passed" if ok else "FAILED"))
sys.exit(0 if ok else 1)
PY
else
  echo "(e) needs 2 GPUs, this machine has $gpus: not run"
fi
echo "== (f) language models, 200 steps, CPU vs GPU"
kjv=/usr/local/share/trainyard/kjv.txt
if [ ! -f "$kjv" ] && [ -f "$build/device-data/kjv.txt.gz" ]; then kjv=/tmp/ty-kjv.txt; gunzip -c "$build/device-data/kjv.txt.gz" > "$kjv"; fi
test_loss() { grep '"split":"test"' "$1/metrics.jsonl" | grep -o '"loss":[0-9.e-]*' | cut -d: -f2; }
step_s() { python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1]+'/metrics.jsonl')]; e=[x for x in r if x['kind']=='epoch'][-1]; print('%.4f' % (e['seconds']/200))" "$1"; }
if [ -f "$kjv" ]; then
  for model in lstm transformer; do
    for dev in cpu cuda; do
      rm -rf "/tmp/ty-lm-$model-$dev"
      timeout 400 "$build/trainyard" train "examples/kjv_char_$model.yaml" --set "data.train=$kjv" --set train.max_steps=200 \
        --set schedule.kind=constant --set runtime.device=$dev --set sample.tokens=100 --run-dir "/tmp/ty-lm-$model-$dev" \
        > "/tmp/ty-lm-$model-$dev.log" 2>&1 || { echo "$model on $dev: FAILED"; tail -5 "/tmp/ty-lm-$model-$dev.log"; status=1; }
      echo "$model on $dev: test loss $(test_loss /tmp/ty-lm-$model-$dev), $(step_s /tmp/ty-lm-$model-$dev) s/step"
    done
    python3 -c "import sys; a, b = float(sys.argv[1] or 9), float(sys.argv[2] or 9); print('$model: test loss GPU - CPU = %+.4f: %s' % (b - a, 'passed' if abs(b - a) <= 0.05 and a < 2.6 else 'FAILED')); sys.exit(abs(b - a) > 0.05 or a >= 2.6)" \
      "$(test_loss /tmp/ty-lm-$model-cpu)" "$(test_loss /tmp/ty-lm-$model-cuda)" || status=1
    timeout 60 "$build/trainyard" generate "examples/kjv_char_$model.yaml" --set "data.train=$kjv" --set runtime.device=cuda \
      --weights "/tmp/ty-lm-$model-cuda/weights.bin" --prompt "And God said" --tokens 80 || { echo "(f) generate on the GPU: FAILED"; status=1; }
  done
else
  echo "== (f) no corpus here (run tests/device/pack.sh and carry BUILD/device-data): FAILED"; status=1
fi
echo "== (g) translation, 400 steps, CPU vs GPU"
pairs=/usr/local/share/trainyard/bible-en-es
if [ ! -f "$pairs/test.es" ] && [ -f "$build/device-data/bible-en-es.tar.gz" ]; then
  mkdir -p /tmp/ty-pairs && tar -C /tmp/ty-pairs -xzf "$build/device-data/bible-en-es.tar.gz"; pairs=/tmp/ty-pairs/bible-en-es
fi
if [ -f "$pairs/test.es" ] && [ -f "$build/device-data/bible-es-en.model" ]; then
  shards=/tmp/ty-shards/bible
  rm -rf /tmp/ty-shards && mkdir -p /tmp/ty-shards
  "$build/trainyard" data import parallel --source "$pairs/train.es" --target "$pairs/train.en" --test-source "$pairs/test.es" \
    --test-target "$pairs/test.en" --val-fraction 0.02 --spm "$build/device-data/bible-es-en.model" --max-len 64 --out "$shards" \
    > /tmp/ty-import.log 2>&1 || { echo "(g) import: FAILED"; tail -3 /tmp/ty-import.log; status=1; }
  bleu() { grep '"split":"test"' "$1/metrics.jsonl" | grep -o '"bleu":[0-9.e-]*' | cut -d: -f2; }
  for dev in cpu cuda; do
    rm -rf "/tmp/ty-mt-$dev"
    timeout 900 "$build/trainyard" train examples/bible_es_en_transformer.yaml --set "data.train=$shards-train-*" \
      --set "data.val=$shards-val-*" --set "data.test=$shards-test-*" --set train.max_steps=400 --set runtime.device=$dev \
      --run-dir "/tmp/ty-mt-$dev" > "/tmp/ty-mt-$dev.log" 2>&1 || { echo "(g) on $dev: FAILED"; tail -5 "/tmp/ty-mt-$dev.log"; status=1; }
    echo "(g) on $dev: test BLEU $(bleu /tmp/ty-mt-$dev); $(grep -o 'beam 5, [0-9]* sentences, [0-9.]* s' /tmp/ty-mt-$dev.log)"
  done
  python3 -c "import sys; a, b = float(sys.argv[1] or -9), float(sys.argv[2] or 99); print('(g) test BLEU GPU - CPU = %+.2f: %s' % (b - a, 'passed' if abs(b - a) <= 0.5 else 'FAILED')); sys.exit(abs(b - a) > 0.5)" \
    "$(bleu /tmp/ty-mt-cpu)" "$(bleu /tmp/ty-mt-cuda)" || status=1
  TY_BENCH_DEVICE=cuda TY_BENCH_SHARDS="$shards" timeout 900 python3 bench/seq2seq_vs_pytorch.py --parts time --runs 1 || status=1
else
  echo "== (g) no translation corpus here (run tests/device/pack.sh and carry BUILD/device-data): FAILED"; status=1
fi
echo "== (h) GAN example, 500 steps, CPU vs GPU"
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  fid() { grep -o '"fid":[0-9.e+-]*' "$1/metrics.jsonl" | cut -d: -f2; }
  for dev in cpu cuda; do
    rm -rf "/tmp/ty-gan-$dev"
    classifier=""
    [ "$dev" = cuda ] && classifier="--set gan.fid_classifier=/tmp/ty-gan-cpu/fid_classifier/weights.bin"
    SECONDS=0
    timeout 900 "$build/trainyard" train examples/fashion_mnist_dcgan.yaml --set train.max_steps=500 \
      --set "data.train=$data/train-images-idx3-ubyte.gz" --set "data.train_labels=$data/train-labels-idx1-ubyte.gz" \
      --set "data.test=$data/t10k-images-idx3-ubyte.gz" --set "data.test_labels=$data/t10k-labels-idx1-ubyte.gz" \
      --set runtime.device=$dev $classifier --run-dir "/tmp/ty-gan-$dev" > "/tmp/ty-gan-$dev.log" 2>&1 \
      || { echo "(h) on $dev: FAILED"; tail -5 "/tmp/ty-gan-$dev.log"; status=1; }
    echo "(h) on $dev: FID $(fid /tmp/ty-gan-$dev), ${SECONDS} s; $(grep -o 'epoch 1: [0-9.]* s train' /tmp/ty-gan-$dev.log)"
  done
  python3 -c "import sys; a, b = float(sys.argv[1] or 1e9), float(sys.argv[2] or 1e9); r = b / a; print('(h) FID GPU / CPU = %.3f: %s' % (r, 'passed' if 1 / 1.5 <= r <= 1.5 else 'FAILED')); sys.exit(not 1 / 1.5 <= r <= 1.5)" \
    "$(fid /tmp/ty-gan-cpu)" "$(fid /tmp/ty-gan-cuda)" || status=1
else
  echo "== (h) no Fashion-MNIST here (run tests/device/pack.sh and carry BUILD/device-data): FAILED"; status=1
fi
echo "== (i) GPUDirect Storage: is cuFile live here?"
cufile_dir=$(python3 -c "import nvidia.cufile, os; print(os.path.join(os.path.dirname(nvidia.cufile.__file__), 'lib'))" 2>/dev/null ||
             find / -name 'libcufile.so.0' -path '*site-packages*' -printf '%h\n' 2>/dev/null | head -1)
LD_LIBRARY_PATH="${cufile_dir:+$cufile_dir:}${LD_LIBRARY_PATH:-}" timeout 60 "$build/bench/gpu_direct_probe" || true
echo "== (j) the GPU data path (storage.gpu_direct): Fashion-MNIST shards on the GPU by each path vs the CPU"
export LD_LIBRARY_PATH="${cufile_dir:+$cufile_dir:}${LD_LIBRARY_PATH:-}"
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  rm -rf /tmp/ty-fm-shards* /tmp/ty-j-*
  timeout 120 "$build/trainyard" data import idx --images "$data/train-images-idx3-ubyte.gz" \
    --labels "$data/train-labels-idx1-ubyte.gz" --out /tmp/ty-fm-shards --shard-mb 20 > /tmp/ty-j-import.log 2>&1 ||
    { echo "(j) import: FAILED"; tail -3 /tmp/ty-j-import.log; status=1; }
  for run in cpu:auto cuda:off cuda:auto cuda:on; do
    dev=${run%:*} gd=${run#*:}
    SECONDS=0
    timeout 300 "$build/trainyard" train examples/fashion_mnist_mlp.yaml --set train.epochs=2 \
      --set "data.train=/tmp/ty-fm-shards-*" --set validation.fraction=0 --set log.every_steps=1 \
      --set "data.test=$data/t10k-images-idx3-ubyte.gz" --set "data.test_labels=$data/t10k-labels-idx1-ubyte.gz" \
      --set runtime.device=$dev --set storage.gpu_direct=$gd --run-dir "/tmp/ty-j-$dev-$gd" > "/tmp/ty-j-$dev-$gd.log" 2>&1
    rc=$?
    echo "$dev, gpu_direct $gd: exit $rc, ${SECONDS} s, test accuracy $(accuracy /tmp/ty-j-$dev-$gd)"
    grep -m1 -E 'data path|gpu_direct' "/tmp/ty-j-$dev-$gd.log" || true
    [ $rc -eq 0 ] || tail -3 "/tmp/ty-j-$dev-$gd.log"
  done
  # Same data, same start: the first losses agree to rounding; accuracies within a point.
  python3 - /tmp/ty-j-cpu-auto /tmp/ty-j-cuda-off /tmp/ty-j-cuda-auto /tmp/ty-j-cuda-on <<'PY' || status=1
import json, os, sys
def records(d, kind):
    f = d + "/metrics.jsonl"
    return [r for r in map(json.loads, open(f)) if r["kind"] == kind] if os.path.exists(f) else []
cpu = records(sys.argv[1], "train")
ok = bool(cpu)
for d in sys.argv[2:]:
    train, test = records(d, "train"), [r for r in records(d, "eval") + records(d, "test") if "accuracy" in r]
    if d.endswith("-on") and not train:
        print("(j) %s: did not train (the direct path is not live here; its log says why): reported, not failed" % d)
        continue
    first = max(abs(a["loss"] - b["loss"]) / abs(a["loss"]) for a, b in zip(cpu[:5], train[:5])) if train else 1
    acc_cpu = [r for r in records(sys.argv[1], "eval") + records(sys.argv[1], "test") if "accuracy" in r]
    diff = abs(test[-1]["accuracy"] - acc_cpu[-1]["accuracy"]) if test and acc_cpu else 1
    good = first <= 1e-3 and diff <= 0.01 and len(train) == len(cpu)
    print("(j) %s: first 5 losses within %.1e of the CPU's, accuracy %+.4f vs the CPU: %s" % (d, first, diff, "passed" if good else "FAILED"))
    ok = ok and good
sys.exit(0 if ok else 1)
PY
else
  echo "(j) no Fashion-MNIST data here: FAILED"; status=1
fi
echo "== (j) the GPU data path's rates: staged vs pinned copies, cuFile vs staged (bench/device_data_path)"
rm -rf /tmp/ty-ddp
timeout 300 "$build/bench/device_data_path" /tmp/ty-ddp "${DDP_GIB:-1}" || { echo "(j) bench: FAILED"; status=1; }
rm -rf /tmp/ty-ddp /tmp/ty-fm-shards*
echo "== check.sh: $([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
