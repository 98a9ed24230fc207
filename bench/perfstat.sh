#!/usr/bin/env bash
# bench/perfstat.sh: kernel-side cost per request of fulcrum and nginx (see bench/README.md).
#
# Starts the same backends and proxies as bench/run.sh, then, for each response
# size and connection count, counts with `perf stat` over one wrk run per proxy:
# system calls, context switches and page faults per request, and CPU time per
# request (task-clock), split into user and system time from /proc. Needs perf (Debian's linux-perf, matching the kernel);
# loopback only; bounded; everything stops and is removed on exit.
#
# Environment:
#   DURATION=S   seconds per wrk run (default 4)
#   AUTO=1       also measure fulcrum with worker_processes auto
#   FLOOR=1      also measure bench/floor, the least a goroutine-per-connection
#                Go proxy can do (no parsing, no logic): Go's own floor
#   EVLOOP=1     also measure bench/evloop, floor as one epoll loop on one
#                thread (no goroutines, no poller): Go without its runtime's cost
#   KEEP=1       keep the work directory
set -euo pipefail

DURATION=${DURATION:-4}
AUTO=${AUTO:-0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v perf >/dev/null || die "perf is missing (Debian: linux-perf, for the running kernel)"
PROXIES=(nginx fulcrum-1)
[[ $AUTO == 1 ]] && PROXIES+=(fulcrum-auto)
[[ ${FLOOR:-0} == 1 ]] && PROXIES+=(floor)
[[ ${EVLOOP:-0} == 1 ]] && PROXIES+=(evloop)
start_all

# measure runs wrk against proxy NAME under perf stat and prints one table row.
measure() {
	local path=$1 conns=$2 name=$3
	local url="http://127.0.0.1:${PORT[$name]}/$path" out=$WORK/perf-$path-$conns-$name
	timeout 30 wrk -t2 -c"$conns" -d1s "$url" >/dev/null # warm: threads and pools exist
	local pids
	pids=$(proc_pids "$name" | paste -sd, -)
	timeout $((DURATION + 30)) perf stat -x, -e raw_syscalls:sys_enter,context-switches,page-faults,task-clock \
		-p "$pids" -o "$out.perf" &
	local perf_pid=$!
	sleep 0.3
	local t0 t1
	t0=$(cpu_ticks "$name")
	timeout $((DURATION + 30)) wrk -t2 -c"$conns" -d"${DURATION}s" "$url" >"$out.wrk" 2>&1 || die "wrk failed: $(tail -3 "$out.wrk")"
	t1=$(cpu_ticks "$name")
	kill -INT "$perf_pid" 2>/dev/null || true
	wait "$perf_pid" 2>/dev/null || true
	local requests
	requests=$(awk '/requests in/ { print $1 }' "$out.wrk")
	# The window of perf is a little longer than wrk's (0.3 s idle before): an
	# idle proxy makes almost no system calls, so the error is small.
	local hz
	hz=$(getconf CLK_TCK)
	awk -F, -v r="$requests" -v row="| /$path c=$conns | $name" -v t0="$t0" -v t1="$t1" -v hz="$hz" '
		NF > 3 && $1 ~ /^[0-9.]+$/ { v[$3] = $1 }
		END {
			split(t0, a, " "); split(t1, b, " ")
			printf "%s | %d | %.2f | %.2f | %.3f | %.0f | %.1f | %.1f |\n", row, r, v["raw_syscalls:sys_enter"] / r,
				v["context-switches"] / r, v["page-faults"] / r, v["task-clock"] * 1000 / r,
				(b[1] - a[1]) * 1e6 / hz / r, (b[2] - a[2]) * 1e6 / hz / r
		}' "$out.perf"
}

echo
echo "fulcrum vs $(nginx -v 2>&1); $(nproc) CPUs; wrk -t2 ${DURATION}s per run; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "| scenario | proxy | requests | syscalls/req | context switches/req | page faults/req | CPU us/req | user us/req | system us/req |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for path in small big; do
	for conns in 50 400; do
		for name in "${PROXIES[@]}"; do
			measure "$path" "$conns" "$name"
		done
	done
done
