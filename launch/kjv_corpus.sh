#!/usr/bin/env bash
# Writes the text examples' corpus: the King James Bible (public domain in most of the world;
# Debian's sword-text-kjv, the CrossWire "engKJV2006eb" module), one verse per line as plain
# text, the "Book C:V: " references taken off, to /usr/local/share/trainyard/kjv.txt (or $1).
# Idempotent: a corpus already there is kept. launch/setup.sh runs it.
set -euo pipefail
out=${1:-/usr/local/share/trainyard/kjv.txt}
if [ -s "$out" ]; then
  echo "kjv_corpus: $out is there ($(wc -l < "$out") verses)"
  exit 0
fi
command -v diatheke > /dev/null || { echo "kjv_corpus: diatheke not found: run launch/setup.sh" >&2; exit 2; }
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Each verse comes as "Book C:V: text" (some indented); other lines (headings, the module's
# name) are left out.
diatheke -b engKJV2006eb -f plain -k "Gen 1:1-Rev 22:21" |
  sed -nE 's/^[[:space:]]*[^:]+ [0-9]+:[0-9]+: (.*[^[:space:]])[[:space:]]*$/\1/p' > "$tmp"
verses=$(wc -l < "$tmp")
if [ "$verses" -lt 31000 ]; then
  echo "kjv_corpus: diatheke gave $verses verses, expected 31102 (is sword-text-kjv installed?)" >&2
  exit 1
fi
mv "$tmp" "$out"
echo "kjv_corpus: wrote $out ($verses verses, $(wc -c < "$out") bytes)"
