#!/usr/bin/env bash
# Starts a one-node Swift with s3api on loopback, runs build/bench/s3_vs_curl against it
# (trainyard's S3 loader and checkpoint upload against parallel curl), stops it.
#   bash bench/s3_vs_curl.sh [build dir] [extra flags for s3_vs_curl...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}; shift || true
port=${S3_BENCH_PORT:-18189}
store=$(mktemp -d /tmp/s3bench.XXXXXX)
trap 'bash "$here/tests/support/swift_s3.sh" down "$store/swift"; rm -rf "$store"' EXIT
bash "$here/tests/support/swift_s3.sh" up "$store/swift" "$port"
printf 'machine 127.0.0.1\nlogin test:tester\npassword testing\n' > "$store/netrc"
AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  "$build/bench/s3_vs_curl" --endpoint "http://127.0.0.1:$port" --bucket bench --netrc "$store/netrc" "$@"
