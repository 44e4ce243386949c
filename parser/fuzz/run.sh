#!/bin/sh
# Runs the parser fuzzer for SECONDS (default 600) on a seed corpus made from
# testdata/parser and ../shared/peer/buildkit-parser.
#   parser/fuzz/run.sh BUILD_DIR [SECONDS]
# BUILD_DIR must be configured with CC=clang CXX=clang++ -DBLD_FUZZ=ON.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
secs=${2:-600}
src=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$build/parser-fuzz-seeds
corpus=$build/parser-fuzz-corpus
mkdir -p "$seeds" "$corpus"
i=0
for f in "$src"/testdata/parser/*/Dockerfile "$src"/testdata/parser/*/dockerignore \
         "$src"/../shared/peer/buildkit-parser/testfiles*/*/Dockerfile; do
  [ -f "$f" ] || continue
  i=$((i + 1))
  cp "$f" "$seeds/seed-$i"
done
if [ -f "$src/../shared/peer/buildkit-shell/envVarTest" ]; then
  grep -v '^#' "$src/../shared/peer/buildkit-shell/envVarTest" | cut -d'|' -f2 |
    while read -r w; do i=$((i + 1)); printf '%s' "$w" > "$seeds/word-$(printf '%s' "$w" | cksum | cut -d' ' -f1)"; done
fi
exec "$build/parser/fuzz/parser_fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
  -max_len=4096 -print_final_stats=1 "$corpus" "$seeds"
