#!/usr/bin/env bash
# bench/run.sh: fulcrum against nginx, side by side, on loopback (see bench/README.md).
#
# Builds fulcrum and the Go backend, starts two backends (GOMAXPROCS=1), nginx
# (one worker) and fulcrum (worker_processes 1, and auto) with equivalent
# configurations, then runs wrk against each proxy in turn (interleaved, the order
# reversed every other round) for small and 64 KiB responses at 50 and 400
# connections. Prints a table of medians over the rounds: requests/s, p50 and p99
# latency, proxy CPU per 1,000 requests, RSS with the connections open, peak RSS,
# and fulcrum/nginx ratios. Everything runs on 127.0.0.1, every run is bounded,
# and everything stops and is removed on exit.
#
# Environment:
#   QUICK=1        smoke run: 1 round of 3 s per run (about a minute in all)
#   ROUNDS=N       rounds (default 3)
#   DURATION=S     seconds per wrk run (default 5)
#   THREADS=N      wrk threads (default 2)
#   AUTO=0         skip fulcrum with worker_processes auto
#   RESULTS=FILE   also write the markdown table to FILE
#   KEEP=1         keep the work directory (configs, logs, raw wrk output)
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
AUTO=${AUTO:-1}
if [[ ${QUICK:-0} == 1 ]]; then
	ROUNDS=1
	DURATION=3
fi
CONNS=(50 400)
PATHS=(small big)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
PROXIES=(nginx fulcrum-1)
[[ $AUTO == 1 ]] && PROXIES+=(fulcrum-auto)
start_all
TICK_MS=$((1000 / $(getconf CLK_TCK)))

# source_version names the commit fulcrum was built from, and whether the tree
# differed from it (others may be editing while a run goes on).
source_version() {
	local rev
	rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) || {
		echo "an unknown commit"
		return
	}
	if [[ -n $(git -C "$ROOT" status --porcelain -- cmd internal go.mod 2>/dev/null) ]]; then
		rev+=" (plus uncommitted changes)"
	fi
	echo "commit $rev"
}

# ---- runs ------------------------------------------------------------------------------

RESULTS_TSV=$WORK/results.tsv
printf 'round\tpath\tconns\tproxy\trequests\trps\tp50_ms\tp99_ms\tcpu_ms_per_1k\trss_kb\terrors\tsys_pct\n' >"$RESULTS_TSV"

# to_ms converts a wrk latency ("812.00us", "1.20ms", "2.01s") to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
		printf "%.3f", n }'
}

# run_one runs wrk once against proxy NAME and appends a line to RESULTS_TSV.
run_one() {
	local round=$1 path=$2 conns=$3 name=$4 dur=$5
	local out=$WORK/wrk-$round-$path-$conns-$name.txt
	local t0 t1 rss
	t0=$(cpu_ticks "$name")
	timeout $((dur + 30)) wrk -t"$THREADS" -c"$conns" -d"${dur}s" --timeout 5s --latency \
		"http://127.0.0.1:${PORT[$name]}/$path" >"$out" 2>&1 &
	local wrk_pid=$!
	sleep "$(awk -v d="$dur" 'BEGIN { print d * 2 / 3 }')"
	rss=$(mem_kb "$name" VmRSS)
	wait "$wrk_pid" || die "wrk failed against $name: $(tail -3 "$out")"
	t1=$(cpu_ticks "$name")
	[[ $round == warmup ]] && return
	local requests rps p50 p99 errors
	requests=$(awk '/requests in/ { print $1 }' "$out")
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	errors=$(awk '/Non-2xx or 3xx/ { n += $NF } /Socket errors/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
	local cpu sys u0 s0 u1 s1
	read -r u0 s0 <<<"$t0"
	read -r u1 s1 <<<"$t1"
	cpu=$(awk -v t=$((u1 + s1 - u0 - s0)) -v ms="$TICK_MS" -v r="$requests" 'BEGIN { printf "%.1f", (r > 0 ? t * ms * 1000 / r : 0) }')
	sys=$(awk -v s=$((s1 - s0)) -v t=$((u1 + s1 - u0 - s0)) 'BEGIN { printf "%.0f", (t > 0 ? 100 * s / t : 0) }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$path" "$conns" "$name" \
		"$requests" "$rps" "$p50" "$p99" "$cpu" "$rss" "$errors" "$sys" >>"$RESULTS_TSV"
	log "round $round $path c=$conns $name: $rps req/s p50 ${p50}ms p99 ${p99}ms cpu ${cpu}ms/1k (${sys}% sys) rss ${rss}KiB errors $errors"
}

log "warming up"
for name in "${PROXIES[@]}"; do
	run_one warmup small 400 "$name" 1
done

for round in $(seq "$ROUNDS"); do
	order=("${PROXIES[@]}")
	if ((round % 2 == 0)); then
		order=()
		for ((i = ${#PROXIES[@]} - 1; i >= 0; i--)); do order+=("${PROXIES[$i]}"); done
	fi
	for path in "${PATHS[@]}"; do
		for conns in "${CONNS[@]}"; do
			for name in "${order[@]}"; do
				run_one "$round" "$path" "$conns" "$name" "$DURATION"
			done
		done
	done
done

declare -A PEAK
for name in "${PROXIES[@]}"; do
	PEAK[$name]=$(mem_kb "$name" VmHWM)
done

# ---- report ----------------------------------------------------------------------------

# summarize prints the markdown table: medians over rounds, max RSS, summed errors,
# and each fulcrum's ratios to nginx in the same scenario.
summarize() {
	local peaks=""
	for name in "${PROXIES[@]}"; do peaks+="$name=${PEAK[$name]} "; done
	awk -F'\t' -v peaks="$peaks" '
	function median(key, n, i, j, t, a) {
		n = cnt[key]
		for (i = 1; i <= n; i++) a[i] = val[key, i]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
	}
	function add(metric, s, p, v) { k = metric SUBSEP s SUBSEP p; cnt[k]++; val[k, cnt[k]] = v }
	function med(metric, s, p) { return median(metric SUBSEP s SUBSEP p) }
	function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
	BEGIN {
		np = split(peaks, pp, " ")
		for (i = 1; i <= np; i++) { split(pp[i], kv, "="); peak[kv[1]] = kv[2]; order[i] = kv[1] }
	}
	NR == 1 { next }
	{
		s = $2 " " $3; p = $4
		if (!(s in seen)) { seen[s] = 1; scen[++ns] = s }
		add("rps", s, p, $6); add("p50", s, p, $7); add("p99", s, p, $8); add("cpu", s, p, $9); add("sys", s, p, $12)
		if ($10 > rss[s, p]) rss[s, p] = $10
		errs[s, p] += $11
	}
	END {
		print "| scenario | proxy | req/s | p50 ms | p99 ms | CPU ms/1k req | sys % | RSS MiB (open conns) | peak RSS MiB | errors | req/s ratio | p99 ratio | CPU ratio | RSS ratio |"
		print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (i = 1; i <= ns; i++) {
			s = scen[i]; split(s, sc, " ")
			for (j = 1; j <= np; j++) {
				p = order[j]
				r = med("rps", s, p); q99 = med("p99", s, p); c = med("cpu", s, p)
				nr = med("rps", s, "nginx"); n99 = med("p99", s, "nginx"); nc = med("cpu", s, "nginx")
				if (p == "nginx") { rr = "1"; r99 = "1"; rc = "1"; rm = "1" }
				else { rr = ratio(r, nr); r99 = ratio(q99, n99); rc = ratio(c, nc); rm = ratio(rss[s, p], rss[s, "nginx"]) }
				printf "| /%s c=%s | %s | %.0f | %.2f | %.2f | %.1f | %.0f | %.1f | %.1f | %d | %s | %s | %s | %s |\n",
					sc[1], sc[2], p, r, med("p50", s, p), q99, c, med("sys", s, p), rss[s, p] / 1024, peak[p] / 1024, errs[s, p], rr, r99, rc, rm
			}
		}
		print ""
		print "Targets (Speed issue), fulcrum/nginx:"
		for (j = 1; j <= np; j++) {
			p = order[j]
			if (p == "nginx") continue
			line = "- " p ":"
			s = "small 50"
			if (cnt["cpu" SUBSEP s SUBSEP p] > 0)
				line = line sprintf(" CPU/1k small c=50 %s (<= 1.0);", ratio(med("cpu", s, p), med("cpu", s, "nginx")))
			for (i = 1; i <= ns; i++) {
				s = scen[i]; split(s, sc, " ")
				line = line sprintf(" /%s c=%s req/s %s (>= 1.0) p99 %s (<= 1.0)", sc[1], sc[2],
					ratio(med("rps", s, p), med("rps", s, "nginx")), ratio(med("p99", s, p), med("p99", s, "nginx")))
				if (sc[2] == 400) line = line sprintf(" RSS %s (<= 2.0)", ratio(rss[s, p], rss[s, "nginx"]))
				line = line ";"
			}
			print line
		}
	}' "$RESULTS_TSV"
}

TABLE=$(summarize)
echo
echo "$("$WORK/fulcrum" -v 2>&1 | head -1) at $(source_version) vs $(nginx -v 2>&1); $(nproc) CPUs; wrk -t$THREADS, $ROUNDS round(s) of ${DURATION}s per run; $(date -u +%Y-%m-%dT%H:%MZ); load average $LOAD_START at start, $(cut -d" " -f1-3 /proc/loadavg) at end"
echo "$TABLE"
echo "ratios are fulcrum/nginx in the same scenario; medians over rounds; RSS sums nginx's master and worker"
[[ -n ${RESULTS:-} ]] && echo "$TABLE" >"$RESULTS"

# Anything the proxies logged at warn or above is worth a look (errors under load).
for name in "${PROXIES[@]}"; do
	f=$WORK/$name/error.log
	[[ $name == nginx ]] && f=$WORK/nginx/error.log
	n=$(grep -c -E '\[(warn|error|crit|alert|emerg)\]' "$f" 2>/dev/null || true)
	if [[ ${n:-0} -gt 0 ]]; then
		echo "$name logged $n lines at warn or above; first ones:"
		grep -E '\[(warn|error|crit|alert|emerg)\]' "$f" | head -3
	fi
done
