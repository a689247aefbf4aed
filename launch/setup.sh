#!/usr/bin/env bash
# Installs every Debian package that trainyard's build, tests, examples and benchmarks need.
# Idempotent: safe to run again. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev                      # CPU kernels (oneDNN)
  libgtest-dev libgmock-dev        # tests
  libgoogle-glog-dev libgflags-dev # logging, CHECK
  libyaml-cpp-dev                  # job specs
  libabsl-dev                      # Status / StatusOr
  zlib1g-dev                       # gzip IDX files
  openmpi-bin libopenmpi-dev       # the MPI communicator, mpirun
  libucx-dev                       # the UCX communicator (ranks that no mpirun started)
  iproute2                         # network namespaces: multi-host tests on one machine
  libcpp-httplib-dev libssl-dev nlohmann-json3-dev libsqlite3-dev  # the coordinator's HTTP API and state
  prometheus curl                  # promtool and a real scraper for the coordinator's /metrics
  openssl                          # test certificates for the coordinator's TLS
  slurm-wlm munge                  # srun launching and its integration test (a local Slurm)
  clang libclang-rt-14-dev         # the libFuzzer target of the shard reader
  clang-format                     # the tree's format (.clang-format)
  dataset-fashion-mnist            # the example data set
  diatheke sword-text-kjv          # the text examples' corpus: the King James Bible (launch/kjv_corpus.sh)
  sword-text-sparv                 # with the KJV, the translation corpus (launch/bible_parallel_corpus.sh)
  libsentencepiece-dev             # data import text --tokens sentencepiece
  python3-torch python3-numpy      # the peer in bench/
  python3-sentencepiece            # the translation peer in bench/ decodes with the same model
  libopenblas0-pthread             # PyTorch's BLAS; without it Debian falls back to reference BLAS
  libpng-dev                       # GAN sample grids as PNG
  liblapack-dev                    # FID: symmetric eigen-decomposition (LAPACK dsyevd)
  libcurl4-openssl-dev             # S3 storage: shards, checkpoints and run directories on an object store
)
# A real S3-compatible store for the storage tests and benches: OpenStack Swift with its
# s3api middleware, one node on loopback (tests/support/swift_s3.sh). Installed with its
# recommended packages, which its middleware pipeline imports.
with_recommends=(swift swift-proxy swift-account swift-container swift-object memcached)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
missing=()
for p in "${with_recommends[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
fi
$SUDO bash "$(dirname "$0")/kjv_corpus.sh"
$SUDO bash "$(dirname "$0")/bible_parallel_corpus.sh"
