#!/bin/sh
# Regenerates README.md's command reference from `bld CMD --help` (between the
# "commands:begin" and "commands:end" markers). tests/cli_readme_test.cc checks that they match.
# Usage: scripts/readme-commands.sh BUILD_DIR/cli/bld [README.md]
set -eu
bld=$1
readme=${2:-README.md}
gen=$(mktemp)
trap 'rm -f "$gen" "$gen.new"' EXIT
{
  printf '#### `bld`\n\n```\n'
  "$bld" --help
  printf '```\n\n'
  for c in $("$bld" --help | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && /^  [a-z]/ {print $1}'); do
    printf '#### `bld %s`\n\n```\n' "$c"
    "$bld" "$c" --help
    printf '```\n\n'
  done
} > "$gen"
awk -v gen="$gen" '
  /^<!-- commands:begin -->$/ { print; while ((getline line < gen) > 0) print line; skip = 1; next }
  /^<!-- commands:end -->$/ { skip = 0 }
  !skip { print }
' "$readme" > "$gen.new"
mv "$gen.new" "$readme"
