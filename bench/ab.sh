#!/usr/bin/env bash
# bench/ab.sh: an interleaved A/B of two fulcrum builds, to tell a change from
# this machine's noise. Both run side by side with the same config (one
# upstream block of two bench/backend servers, keepalive 64, access log off),
# and wrk loads them in turn (A B, then B A, ...), so that what the machine
# does meanwhile falls on both. Each line is one run: req/s, proxy CPU per
# request (from /proc/PID/stat) and RSS; the end prints the means and the
# median paired difference (B - A) of CPU per request.
#
# Usage: bench/ab.sh OLD_BINARY NEW_BINARY
#   ROUNDS (default 6) rounds of SECONDS (default 4) each; C connections
#   (default 50); WP worker_processes (default 1); PATH_ (default /small,
#   or /big for 64 KiB).
# Build the binaries with CGO_ENABLED=0 go build -o ... ./cmd/fulcrum, e.g.
# from a `git worktree add --detach DIR COMMIT`. Loopback only, bounded:
# every wrk run has a timeout and everything started is stopped on exit.
set -euo pipefail
[[ $# == 2 ]] || {
	echo "usage: $0 OLD_BINARY NEW_BINARY" >&2
	exit 2
}
old=$(realpath "$1") new=$(realpath "$2")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v wrk >/dev/null || {
	echo "wrk is missing: apt-get install -y wrk" >&2
	exit 1
}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$ROOT" && CGO_ENABLED=0 go build -o "$work/backend" ./bench/backend)
for i in 1 2; do
	GOMAXPROCS=1 "$work/backend" -portfile "$work/b$i.port" >"$work/b$i.log" 2>&1 &
	pids+=($!)
done
for i in 1 2; do
	for _ in $(seq 100); do [[ -s $work/b$i.port ]] && break; sleep 0.05; done
done
b1=$(cat "$work/b1.port") b2=$(cat "$work/b2.port")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -A port pid
for n in A B; do
	bin=$old
	[[ $n == B ]] && bin=$new
	port[$n]=$(free_port)
	mkdir -p "$work/$n"
	cat >"$work/$n.conf" <<C
worker_processes ${WP:-1};
pid $work/$n/f.pid;
error_log $work/$n/error.log warn;
events { worker_connections 4096; }
http { access_log off;
  upstream backends { server 127.0.0.1:$b1; server 127.0.0.1:$b2; keepalive 64; }
  server { listen 127.0.0.1:${port[$n]}; location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
	"$bin" -p "$work/$n" -c "$work/$n.conf" &
	pid[$n]=$!
	pids+=($!)
done
for n in A B; do
	for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${port[$n]}/small" && break; sleep 0.05; done
done
hz=$(getconf CLK_TCK)
# The CPU of the process and its workers (worker_processes > 1 forks none:
# fulcrum is one process), from /proc/PID/stat's utime and stime.
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
secs=${SECONDS_:-4}
for n in A B; do timeout 30 wrk -t2 -c"${C:-50}" -d2s "http://127.0.0.1:${port[$n]}${PATH_:-/small}" >/dev/null; done
echo "A=$old B=$new C=${C:-50} WP=${WP:-1} ${PATH_:-/small} $(date -u +%FT%TZ)"
for r in $(seq "${ROUNDS:-6}"); do
	order="A B"
	((r % 2 == 0)) && order="B A"
	for n in $order; do
		t0=$(ticks "${pid[$n]}")
		out=$(timeout $((secs + 20)) wrk -t2 --latency -c"${C:-50}" -d"${secs}s" "http://127.0.0.1:${port[$n]}${PATH_:-/small}")
		t1=$(ticks "${pid[$n]}")
		rss=$(awk '/VmRSS/{print $2}' "/proc/${pid[$n]}/status")
		req=$(awk '/requests in/ {print $1}' <<<"$out")
		# wrk's 99th percentile, in ms whatever unit it printed.
		p99=$(awk '$1 == "99%" { v = $2; m = 1; if (v ~ /us$/) m = 0.001; else if (v ~ /ms$/) m = 1; else if (v ~ /s$/) m = 1000; gsub(/[a-z]+$/, "", v); print v * m }' <<<"$out")
		awk -v n="$n" -v r="$r" -v t=$((t1 - t0)) -v q="$req" -v hz="$hz" -v rss="$rss" -v s="$secs" -v p99="${p99:-0}" \
			'BEGIN{printf "%d %s %.0f req/s %.1f us/req %d KiB %.2f ms p99\n", r, n, q/s, t*1e6/hz/q, rss, p99}'
	done
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'P'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    runs.setdefault(int(f[0]), {})[f[1]] = (float(f[2]), float(f[4]), float(f[8]))
a = [v["A"] for v in runs.values() if "A" in v and "B" in v]
b = [v["B"] for v in runs.values() if "A" in v and "B" in v]
d = [y[1] - x[1] for x, y in zip(a, b)]
print(f"mean req/s A {st.mean(x[0] for x in a):.0f} B {st.mean(x[0] for x in b):.0f}; "
      f"mean us/req A {st.mean(x[1] for x in a):.1f} B {st.mean(x[1] for x in b):.1f}; "
      f"median paired difference B-A {st.median(d):+.2f} us/req; "
      f"median p99 A {st.median(x[2] for x in a):.2f} B {st.median(x[2] for x in b):.2f} ms")
P
