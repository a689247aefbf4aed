#!/usr/bin/env bash
# Imports the Spanish-English Bible pairs once (launch/setup.sh wrote the aligned text), then
# trains examples/bible_es_en_transformer.yaml; extra arguments go to `trainyard train`
# (--set key=value, --run-dir DIR).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${TRAINYARD:-$root/build/trainyard}
corpus=/usr/local/share/trainyard/bible-en-es
out=/usr/local/share/trainyard/bible-es-en/bible
if [ ! -s "$corpus/test.es" ]; then
  echo "bible_es_en: $corpus is missing: run launch/setup.sh" >&2
  exit 2
fi
if ! ls "$out"-test-*.tyshard > /dev/null 2>&1; then
  mkdir -p "$(dirname "$out")"
  "$bin" data import parallel --source "$corpus/train.es" --target "$corpus/train.en" \
    --test-source "$corpus/test.es" --test-target "$corpus/test.en" --val-fraction 0.02 \
    --vocab-size 4000 --max-len 64 --out "$out"
fi
exec "$bin" train "$root/examples/bible_es_en_transformer.yaml" "$@"
