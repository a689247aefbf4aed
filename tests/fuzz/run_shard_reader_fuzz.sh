#!/usr/bin/env bash
# Builds the shard-reader fuzz target with clang (libFuzzer + ASan + UBSan) and runs it for
# a bounded time from a seed corpus of real shards. Fails on any crash or sanitizer report.
#   run_shard_reader_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
src=$1 build=$2 secs=${3:-20}
out=$build/fuzz
mkdir -p "$out/corpus"
if [ ! -x "$out/shard_reader_fuzz" ] || [ "$src/storage/shard/shard_reader.cc" -nt "$out/shard_reader_fuzz" ] ||
   [ "$0" -nt "$out/shard_reader_fuzz" ]; then
  clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$src" "$src/tests/fuzz/shard_reader_fuzz.cc" \
    "$src/storage/shard/shard_reader.cc" "$src/storage/shard/shard_schema.cc" "$src/storage/shard/crc32c.cc" \
    "$src/runtime/tensor.cc" "$src/runtime/allocator.cc" \
    "$src"/storage/s3/{s3_url,sigv4,s3_config,http_transfer,s3_xml,s3_client,s3_object}.cc \
    -labsl_strings -labsl_statusor -labsl_status -labsl_str_format_internal -labsl_cord -labsl_cordz_info -labsl_cord_internal \
    -labsl_cordz_functions -labsl_cordz_handle -labsl_synchronization -labsl_time -labsl_base -labsl_int128 \
    -labsl_raw_logging_internal -labsl_throw_delegate -labsl_strerror -labsl_spinlock_wait -labsl_malloc_internal \
    -labsl_graphcycles_internal -labsl_stacktrace -labsl_symbolize -labsl_debugging_internal \
    -labsl_demangle_internal -labsl_time_zone -labsl_civil_time -labsl_bad_optional_access \
    -labsl_exponential_biased -lglog -lcurl -lcrypto -ldl -o "$out/shard_reader_fuzz"
fi
# Seeds: small real shards (classification and regression, several chunks).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ echo "a,b,label"; for i in $(seq 1 40); do echo "$i,$((i * 3 % 7)),$((i % 3))"; done; } >"$tmp/c.csv"
"$build/trainyard" data import csv --file "$tmp/c.csv" --out "$tmp/c" >/dev/null
"$build/trainyard" data import csv --file "$tmp/c.csv" --target a --task regression --out "$tmp/r" >/dev/null
cp "$tmp"/*.tyshard "$out/corpus/"
"$out/shard_reader_fuzz" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 "$out/corpus" 2>"$out/fuzz.log" || {
  tail -40 "$out/fuzz.log"
  exit 1
}
grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" "$out/fuzz.log" | tail -1
echo "fuzz: no crash in ${secs}s"
