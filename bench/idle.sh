#!/usr/bin/env bash
# bench/idle.sh: what idle keep-alive connections cost, fulcrum against nginx
# (see bench/README.md, "Idle keep-alive connections").
#
# Starts the same backends and proxies as bench/run.sh (one worker each, the
# shared configuration with keepalive_timeout above the wait), then, for
# each proxy in turn, opens N keep-alive connections (one request answered
# on each, then left idle, as browsers leave theirs) and prints the proxy's
# RSS before, 3 s after the last one opened, and WAIT seconds after (Go
# collects at least every two minutes, so the default wait sees a
# collection). Loopback only; bounded; everything stops and is removed on
# exit.
#
# Environment:
#   N=8000      connections per proxy
#   WAIT=200    seconds to hold them before the last reading
#   KEEP=1      keep the work directory
set -euo pipefail

N=${N:-8000}
WAIT=${WAIT:-200}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
WORKER_CONNECTIONS=$((N + 200))
HTTP_EXTRA="keepalive_timeout $((WAIT + 60))s;"
PROXIES=(nginx fulcrum-1)
start_all
(cd "$ROOT" && go build -o "$WORK/idleconns" ./bench/idleconns)
[[ $(ulimit -n) -gt $((N + 100)) ]] || die "open files limit $(ulimit -n) is too low for N=$N"

echo
echo "fulcrum vs $(nginx -v 2>&1); $N idle keep-alive connections; readings 3 s and ${WAIT} s after the last opened; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| proxy | RSS before MiB | RSS +3 s MiB | RSS +${WAIT} s MiB | KiB per connection (+${WAIT} s) |"
echo "|---|---:|---:|---:|---:|"
for name in "${PROXIES[@]}"; do
	before=$(mem_kb "$name" VmRSS)
	out=$WORK/idle-$name.out
	timeout $((WAIT + 120)) "$WORK/idleconns" -addr "127.0.0.1:${PORT[$name]}" -n "$N" -hold "$((WAIT + 30))s" >"$out" 2>&1 &
	client=$!
	for _ in $(seq 600); do
		grep -q '^open' "$out" && break
		kill -0 "$client" 2>/dev/null || die "idleconns failed: $(tail -3 "$out")"
		sleep 0.2
	done
	grep -q '^open' "$out" || die "idleconns did not open $N connections in time"
	sleep 3
	r3=$(mem_kb "$name" VmRSS)
	sleep $((WAIT - 3))
	rw=$(mem_kb "$name" VmRSS)
	kill "$client" 2>/dev/null || true
	wait "$client" 2>/dev/null || true
	awk -v n="$name" -v b="$before" -v a="$r3" -v w="$rw" -v c="$N" \
		'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.2f |\n", n, b / 1024, a / 1024, w / 1024, (w - b) / c }'
done
