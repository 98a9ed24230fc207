#!/usr/bin/env bash
# bench/pgo.sh: refresh cmd/fulcrum/default.pgo, the CPU profile Go's compiler
# uses to optimise fulcrum's build (profile-guided optimisation, see
# bench/README.md). It runs bench/profile.sh on small and 64 KiB responses at
# 50 connections (one worker) and merges the two CPU profiles. Loopback only;
# bounded (about a minute). Commit the new file with the A/B run that shows it
# helps.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$(mktemp -d /tmp/fulcrum-pgo.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
PATHS="small big" SECONDS_=${SECONDS_:-15} OUT=$OUT "$ROOT/bench/profile.sh" >/dev/null
go tool pprof -proto "$OUT/cpu-small.pprof" "$OUT/cpu-big.pprof" >"$ROOT/cmd/fulcrum/default.pgo"
echo "wrote $ROOT/cmd/fulcrum/default.pgo"
