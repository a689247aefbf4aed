#!/bin/bash
# Packs what tests/device/check.sh needs on a GPU machine without Debian's packages (the
# lent device machine): the Debian shared libraries that the test binaries, trainyard and
# the GPU benchmark link, as BUILD/device-libs.tar.xz (the CUDA runtime is linked
# statically; the driver, cuBLAS, cuDNN and NCCL come from the GPU machine), and the
# Fashion-MNIST files and the KJV corpus (gzipped) as BUILD/device-data/.
#   tests/device/pack.sh [BUILD_DIR]      (default: build)
# Then carry: BUILD/trainyard BUILD/tests/{runtime,comm,worker}_tests BUILD/bench/{gpu_step,device_data_path}
#             BUILD/device-libs.tar.xz BUILD/device-data
set -euo pipefail
build=${1:-build}
libs=$(mktemp -d)
trap 'rm -rf "$libs"' EXIT
mkdir -p "$libs/device-libs"
for bin in "$build/tests/runtime_tests" "$build/tests/comm_tests" "$build/tests/worker_tests" "$build/trainyard" \
           "$build/bench/gpu_step" "$build/bench/device_data_path"; do
  [ -x "$bin" ] || { echo "pack.sh: $bin not built" >&2; exit 1; }
  ldd "$bin" | awk '/=> \// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcuda.so*) ;;
      *) cp -L -n "$lib" "$libs/device-libs/" ;;
    esac
  done
done
# LAPACK (FID's eigen-decompositions) is opened at run time, so ldd does not list it.
lapack=$(readlink -f /usr/lib/x86_64-linux-gnu/liblapack.so.3)
cp -L -n "$lapack" "$libs/device-libs/liblapack.so.3"
ldd "$lapack" | awk '/=> \// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;
    *) cp -L -n "$lib" "$libs/device-libs/" ;;
  esac
done
tar -C "$libs" -cJf "$build/device-libs.tar.xz" device-libs
mkdir -p "$build/device-data"
cp -n /usr/share/datasets/fashion-mnist/*.gz "$build/device-data/"
# The language models' corpus (launch/setup.sh writes it), compressed: 1.3 MB.
[ -f "$build/device-data/kjv.txt.gz" ] || gzip -c /usr/local/share/trainyard/kjv.txt > "$build/device-data/kjv.txt.gz"
# The translation pairs (launch/setup.sh writes them) and the example's SentencePiece model,
# so that the device imports the same records: 3 MB.
[ -f "$build/device-data/bible-en-es.tar.gz" ] ||
  tar -C /usr/local/share/trainyard -czf "$build/device-data/bible-en-es.tar.gz" bible-en-es
[ -f "$build/device-data/bible-es-en.model" ] ||
  cp /usr/local/share/trainyard/bible-es-en/bible.model "$build/device-data/bible-es-en.model"
echo "pack.sh: $(ls "$libs/device-libs" | wc -l) libraries in $build/device-libs.tar.xz ($(du -h "$build/device-libs.tar.xz" | cut -f1)), Fashion-MNIST in $build/device-data"
