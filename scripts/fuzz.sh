#!/usr/bin/env bash
# Runs every fuzz target of the project for a bounded time each (default 10s),
# one after another, as CI does. Usage: scripts/fuzz.sh [DURATION]
#   scripts/fuzz.sh 10s     # CI's smoke run
#   scripts/fuzz.sh 5m      # a longer local run
# A target that finds a failure stops the run with a non-zero exit; go test
# writes the input under the package's testdata/fuzz/ to be committed as a seed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
# package:target pairs, found from the source so new targets are not forgotten.
mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz' ./internal ./cmd 2>/dev/null |
  while read -r f; do
    dir=$(dirname "$f")
    grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$dir:|"
  done | sort -u)
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  echo "fuzz $name in $pkg for $fuzztime"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"
done
echo "fuzzed ${#targets[@]} targets for $fuzztime each"
