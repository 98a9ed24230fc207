#!/usr/bin/env bash
# bench/profile.sh: CPU and allocation profiles of fulcrum under wrk (see bench/README.md).
#
# Starts two Go backends (GOMAXPROCS=1) and fulcrum's daemon inside bench/pprof
# (the daemon plus net/http/pprof on another loopback port), loads it with wrk,
# takes a CPU profile and an allocation delta profile during the load, and prints
# the top entries. Loopback only; bounded; everything stops and is removed on exit.
#
# Environment:
#   PATHS="small big"  responses to profile (default both)
#   CONNS=50           wrk connections
#   SECONDS_=10        profile length in seconds (wrk runs 3 s longer)
#   WORKERS=1          fulcrum's worker_processes (1 or auto)
#   NODES=25           entries per top list
#   OUT=DIR            keep the .pprof files (and the binary) in DIR
set -euo pipefail

PATHS=${PATHS:-small big}
CONNS=${CONNS:-50}
SECS=${SECONDS_:-10}
WORKERS=${WORKERS:-1}
NODES=${NODES:-25}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

command -v go >/dev/null || die "go is not installed"
if ! command -v wrk >/dev/null || ! command -v curl >/dev/null; then
	[[ $(id -u) == 0 ]] || die "wrk or curl is missing; run as root or: apt-get install -y wrk curl"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk curl >/dev/null
fi

PIDS=()
WORK=""
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	[[ -n $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_file waits up to 10 s for FILE to be non-empty.
wait_file() {
	for _ in $(seq 100); do
		[[ -s $1 ]] && return 0
		sleep 0.1
	done
	die "$1 did not appear"
}

ulimit -n 65536 2>/dev/null || true
WORK=$(mktemp -d /tmp/fulcrum-profile.XXXXXX)
log "building the backend and the profiling wrapper"
# The wrapper is built with fulcrum's profile (cmd/fulcrum/default.pgo) so that
# what is profiled is what ships.
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/backend &&
	CGO_ENABLED=0 go build -pgo=cmd/fulcrum/default.pgo -o "$WORK/fulcrum-pprof" ./bench/pprof)

BACKENDS=()
for i in 1 2; do
	GOMAXPROCS=1 "$WORK/backend" -portfile "$WORK/backend$i.port" 2>>"$WORK/backend$i.log" &
	PIDS+=($!)
	wait_file "$WORK/backend$i.port"
	BACKENDS+=("$(<"$WORK/backend$i.port")")
done
PORT=$("$WORK/backend" -freeports 1)

cat >"$WORK/fulcrum.conf" <<EOF
worker_processes $WORKERS;
pid $WORK/fulcrum.pid;
error_log $WORK/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream backends {
        server 127.0.0.1:${BACKENDS[0]};
        server 127.0.0.1:${BACKENDS[1]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
"$WORK/fulcrum-pprof" -c "$WORK/fulcrum.conf" -addrfile "$WORK/pprof.addr" 2>>"$WORK/stderr.log" &
PIDS+=($!)
wait_file "$WORK/pprof.addr"
PPROF=$(<"$WORK/pprof.addr")
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/small" && break
	sleep 0.1
done
log "fulcrum (worker_processes $WORKERS) on 127.0.0.1:$PORT, pprof on $PPROF"

for path in $PATHS; do
	log "profiling /$path with $CONNS connections for ${SECS}s"
	timeout $((SECS + 30)) wrk -t2 -c"$CONNS" -d"$((SECS + 3))s" --latency "http://127.0.0.1:$PORT/$path" >"$WORK/wrk-$path.txt" 2>&1 &
	wrk_pid=$!
	sleep 1
	curl -sf --max-time $((SECS + 20)) -o "$WORK/cpu-$path.pprof" "http://$PPROF/debug/pprof/profile?seconds=$SECS" &
	cpu_pid=$!
	curl -sf --max-time $((SECS + 20)) -o "$WORK/allocs-$path.pprof" "http://$PPROF/debug/pprof/allocs?seconds=$SECS"
	wait "$cpu_pid" || die "cpu profile failed"
	wait "$wrk_pid" || die "wrk failed: $(tail -3 "$WORK/wrk-$path.txt")"
	echo
	echo "=== /$path, $CONNS connections: $(awk '/^Requests\/sec:/ { print $2 }' "$WORK/wrk-$path.txt") req/s under profiling"
	echo "--- CPU (flat)"
	go tool pprof -top -nodecount="$NODES" "$WORK/fulcrum-pprof" "$WORK/cpu-$path.pprof" 2>/dev/null | sed -n '1,/^ *flat/d; p'
	echo "--- CPU (cumulative)"
	go tool pprof -top -cum -nodecount="$NODES" "$WORK/fulcrum-pprof" "$WORK/cpu-$path.pprof" 2>/dev/null | sed -n '1,/^ *flat/d; p'
	echo "--- allocated bytes (flat)"
	go tool pprof -top -sample_index=alloc_space -nodecount="$NODES" "$WORK/fulcrum-pprof" "$WORK/allocs-$path.pprof" 2>/dev/null | sed -n '1,/^ *flat/d; p'
	echo "--- allocated objects (flat)"
	go tool pprof -top -sample_index=alloc_objects -nodecount="$NODES" "$WORK/fulcrum-pprof" "$WORK/allocs-$path.pprof" 2>/dev/null | sed -n '1,/^ *flat/d; p'
done

if [[ -n ${OUT:-} ]]; then
	mkdir -p "$OUT"
	cp "$WORK"/*.pprof "$WORK/fulcrum-pprof" "$OUT/"
	log "profiles and binary in $OUT (go tool pprof $OUT/fulcrum-pprof $OUT/cpu-small.pprof)"
fi
if grep -q -E '\[(error|crit|alert|emerg)\]' "$WORK/error.log"; then
	echo "fulcrum logged errors under load; first ones:"
	grep -E '\[(error|crit|alert|emerg)\]' "$WORK/error.log" | head -3
fi
