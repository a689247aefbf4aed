# Sourced by tests/device/check.sh (and by one-off device runs): makes BUILD's binaries run
# on the GPU machine. Unpacks BUILD/device-libs.tar.xz (tests/device/pack.sh) and puts it,
# then the CUDA libraries (toolkit or PyTorch's wheels), on LD_LIBRARY_PATH.
#   source tests/device/env.sh [BUILD_DIR]
build=${1:-build}
here=$(pwd)
# The test binaries have this checkout's path compiled in: make it valid here too.
if [ ! -e /work/main/CMakeLists.txt ] && [ "$here" != /work/main ]; then mkdir -p /work && ln -sfn "$here" /work/main; fi
if [ -f "$build/device-libs.tar.xz" ] && [ ! -d "$build/device-libs" ]; then tar -C "$build" -xJf "$build/device-libs.tar.xz"; fi
[ -d "$build/device-libs" ] && export LD_LIBRARY_PATH="$here/$build/device-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuBLAS, cuDNN and NCCL are loaded at run time: from the CUDA toolkit, or from PyTorch's wheels.
wheel_libs=$(python3 - <<'PY' 2>/dev/null
import importlib, os
for name in ("nvidia.cublas", "nvidia.cudnn", "nvidia.nccl"):
    try:
        print(os.path.join(list(importlib.import_module(name).__path__)[0], "lib"))
    except Exception:
        pass
PY
)
for d in /usr/local/cuda/lib64 $wheel_libs; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
