#!/usr/bin/env bash
# Writes the translation example's parallel corpus: the King James Bible (English, Debian's
# sword-text-kjv, module engKJV2006eb) and the Reina-Valera 1909 (Spanish, sword-text-sparv,
# module spaRV1909eb), both public domain, aligned verse by verse through their references
# ("Genesis 1:1"). Verses missing or empty on either side are left out. Every 25th aligned
# verse is the fixed held-out test split (about 1,240 pairs, spread over every book); the rest
# is for training (and validation, which `data import parallel --val-fraction` takes from it).
#   DIR/train.en DIR/train.es DIR/test.en DIR/test.es   one verse per line, line i of .en
#                                                       translating line i of .es
# DIR is /usr/local/share/trainyard/bible-en-es (or $1). Idempotent: a complete corpus already
# there is kept. launch/setup.sh runs it.
set -euo pipefail
out=${1:-/usr/local/share/trainyard/bible-en-es}
if [ -s "$out/test.es" ]; then
  echo "bible_parallel_corpus: $out is there ($(wc -l < "$out/train.en") training pairs, $(wc -l < "$out/test.en") test pairs)"
  exit 0
fi
command -v diatheke > /dev/null || { echo "bible_parallel_corpus: diatheke not found: run launch/setup.sh" >&2; exit 2; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# "Book C:V: text" -> "Book C:V<TAB>text"; headings and the module's name are left out.
verses() {
  diatheke -b "$1" -f plain -k "Gen 1:1-Rev 22:21" |
    sed -nE 's/^[[:space:]]*([^:]+ [0-9]+:[0-9]+): (.*[^[:space:]])[[:space:]]*$/\1\t\2/p'
}
verses engKJV2006eb > "$tmp/en.tsv"
verses spaRV1909eb > "$tmp/es.tsv"
# In the English order, the verses both sides have; every 25th to the test split.
awk -F'\t' -v dir="$tmp" '
  NR == FNR { es[$1] = $2; next }
  ($1 in es) && $2 != "" && es[$1] != "" {
    n++
    split_ = (n % 25 == 0) ? "test" : "train"
    print $2 > (dir "/" split_ ".en")
    print es[$1] > (dir "/" split_ ".es")
  }' "$tmp/es.tsv" "$tmp/en.tsv"
pairs=$(( $(wc -l < "$tmp/train.en") + $(wc -l < "$tmp/test.en") ))
if [ "$pairs" -lt 30000 ]; then
  echo "bible_parallel_corpus: only $pairs aligned verses, expected about 31,100 (are sword-text-kjv and sword-text-sparv installed?)" >&2
  exit 1
fi
for f in train.en train.es test.en test.es; do mv "$tmp/$f" "$out/$f"; done
echo "bible_parallel_corpus: wrote $out ($(wc -l < "$out/train.en") training pairs, $(wc -l < "$out/test.en") test pairs)"
