#!/bin/bash
# Copies the Debian shared libraries that the test binaries and trainyard link into
# BUILD/device-libs, so that a GPU machine without Debian's packages (the lent device
# machine) can run tests/device/check.sh on this build. The CUDA runtime is linked
# statically; the driver (libcuda) comes from the GPU machine.
#   tests/device/pack.sh [BUILD_DIR]      (default: build)
set -euo pipefail
build=${1:-build}
out="$build/device-libs"
rm -rf "$out"
mkdir -p "$out"
for bin in "$build/tests/runtime_tests" "$build/tests/comm_tests" "$build/trainyard"; do
  [ -x "$bin" ] || { echo "pack.sh: $bin not built" >&2; exit 1; }
  ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcuda.so*) ;;
      *) cp -L -n "$lib" "$out/" ;;
    esac
  done
done
echo "pack.sh: $(ls "$out" | wc -l) libraries, $(du -sh "$out" | cut -f1) in $out"
