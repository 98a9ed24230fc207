#!/usr/bin/env bash
# Runs every fuzz target of the project for a bounded time each (default 10s),
# as CI does, in FUZZ_LANES lanes at once (default: one per CPU), each target
# with that share of the CPUs as fuzzing workers: the per-target compile of
# the instrumented test binary (a few seconds each) overlaps another target's
# run, and 18 targets took over four minutes of CI one after another.
# Usage: scripts/fuzz.sh [DURATION]
#   scripts/fuzz.sh 10s     # CI's smoke run
#   scripts/fuzz.sh 5m      # a longer local run
# A target that finds a failure stops the run with a non-zero exit; go test
# writes the input under the package's testdata/fuzz/ to be committed as a seed.
# Go 1.26's own race at the -fuzztime boundary (a bare "context deadline
# exceeded", nothing written) is run again once and is not counted a finding.
#
# A worker that finds new coverage minimises that input before reporting it,
# for up to 60 s by default, and counts no executions meanwhile: with a 10 s
# budget most targets then spent their time minimising (FuzzChunked stalled
# after 3 s in every CI run) and the budget often ran out mid-minimisation.
# FUZZ_MINIMIZE (default 2s) bounds it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
minimize=${FUZZ_MINIMIZE:-2s}
# package:target pairs, found from the source so new targets are not forgotten.
mapfile -t targets < <(grep -rl --include='*_test.go' '^func Fuzz' ./internal ./cmd 2>/dev/null |
  while read -r f; do
    dir=$(dirname "$f")
    grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | sed "s|^func |$dir:|"
  done | sort -u)
# fuzz_once runs one target, showing its output; it returns go test's status
# and leaves the output in $out.
fuzz_once() {
  local status=0
  out=$(go test -run='^$' -fuzz="^${1}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" -parallel="$workers" "$2" 2>&1) || status=$?
  printf '%s\n' "$out"
  return "$status"
}

# deadline_flake reports whether $out is Go's own fuzz-coordinator race at the
# -fuzztime boundary (go.dev/issue/75804, fixed in Go 1.27): a bare "context
# deadline exceeded" with no failing input written, no panic and no test
# failure message. A real finding always writes its input under testdata/fuzz.
deadline_flake() {
  grep -q 'context deadline exceeded' <<<"$out" &&
    ! grep -qE 'Failing input written to|panic:|_test\.go:[0-9]+:' <<<"$out"
}

# fuzz_target runs one target (package:name), once more after Go's deadline
# race; it fails on a finding and prints "flake" when the race came twice.
fuzz_target() {
  local pkg=${1%%:*} name=${1##*:}
  if fuzz_once "$name" "$pkg"; then
    return 0
  fi
  deadline_flake || return 1
  echo "fuzz $name: Go's fuzztime deadline race (go.dev/issue/75804), nothing found; once more"
  if ! fuzz_once "$name" "$pkg"; then
    deadline_flake || return 1
    echo "fuzz $name: the deadline race again, still no failing input: not a finding"
    echo flake
  fi
}

cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
lanes=${FUZZ_LANES:-$cpus}
((lanes >= 1)) || lanes=1
workers=$((cpus / lanes))
((workers >= 1)) || workers=1
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Each lane takes every lanes-th target; a lane's targets run one after
# another, and a lane stops at its first finding. Each target's output is
# printed whole once it is done, so lanes do not interleave mid-target.
for ((lane = 0; lane < lanes; lane++)); do
  (
    for ((i = lane; i < ${#targets[@]}; i += lanes)); do
      t=${targets[i]}
      if ! block=$(echo "fuzz ${t##*:} in ${t%%:*} for $fuzztime" && fuzz_target "$t"); then
        printf '%s\n' "$block"
        exit 1
      fi
      printf '%s\n' "$block"
      grep -qx flake <<<"$block" && echo >>"$results/flakes.$lane"
    done
    true
  ) &
done
failed=0
for job in $(jobs -p); do
  wait "$job" || failed=1
done
((failed == 0)) || exit 1
flakes=0
for f in "$results"/flakes.*; do
  [[ -e $f ]] && flakes=$((flakes + $(wc -l <"$f")))
done
echo "fuzzed ${#targets[@]} targets for $fuzztime each in $lanes lanes of $workers workers ($flakes deadline races tolerated)"
