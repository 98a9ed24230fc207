#!/usr/bin/env bash
# bench/callgrind.sh: instructions per proxied request, counted by valgrind's
# callgrind (see bench/README.md, "Instructions per request").
#
# CPU time on this shared machine moves by 10-30% between runs; an instruction
# count does not. For each target the script runs the proxy under callgrind
# twice, with W and with W+N requests from bench/fixedload, and divides the
# difference by N: start-up, configuration and warm-up cancel out. It prints the
# instructions per request of each target, the functions that execute the most of
# them (self cost, per request), and for two or more fulcrum builds the functions
# whose cost changed most from the first.
#
# Usage:
#   bench/callgrind.sh                       # fulcrum built from this tree
#   bench/callgrind.sh nginx floor evloop .  # the yardsticks, then this tree
#   bench/callgrind.sh /tmp/fulcrum-old /tmp/fulcrum-new   # an A/B of two builds
# A target is nginx, floor, evloop (bench/floor, bench/evloop), "." (fulcrum
# built from this tree) or the path of a fulcrum binary.
#
# Environment:
#   N=5000     requests counted;  W=5000 requests in the baseline run (enough
#              for Go to fill its type-assertion caches, which it fills on one
#              call in 1,024 at random, before the counted ones)
#   C=1        keep-alive connections (each sends its share in turn)
#   URI=/small the path requested (/big: 64 KiB answers)
#   TOP=30     functions listed per target;  KEEP=1 keeps the work directory
#   LOG=1      access_log in the combined format to a file (default: off)
#   BROWSER=1  requests with a browser's eleven header fields (default: Host,
#              User-Agent and Accept)
#   CACHE=1    simulate the caches too (--cache-sim=yes, this machine's sizes)
#              and print their misses per request: code (I1), data (D1), last
#              level (LL); slower
# Needs valgrind (installed from Debian when missing, as root). Loopback only;
# every run bounded; everything stops and is removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

N=${N:-5000}
W=${W:-5000}
C=${C:-1}
URI=${URI:-/small}
TOP=${TOP:-30}
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(.)

if ! command -v valgrind >/dev/null; then
	[[ $(id -u) == 0 ]] || die "valgrind is missing; run as root or: apt-get install -y valgrind"
	log "installing valgrind"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >/dev/null
fi
for t in "${TARGETS[@]}"; do
	[[ $t == nginx ]] && { command -v nginx >/dev/null || ensure_tools; }
done

WORK=$(mktemp -d /tmp/fulcrum-callgrind.XXXXXX)
chmod 755 "$WORK"
log "building the backend, fixedload and the targets"
(cd "$ROOT" && go build -o "$WORK/backend" ./bench/backend && go build -o "$WORK/fixedload" ./bench/fixedload)
for t in "${TARGETS[@]}"; do
	case $t in
	floor | evloop) (cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/$t" "./bench/$t") ;;
	.) (cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/fulcrum" ./cmd/fulcrum) ;;
	nginx) ;;
	*) [[ -x $t ]] || die "$t: not nginx, floor, evloop, . or an executable fulcrum" ;;
	esac
done

GOMAXPROCS=1 "$WORK/backend" -portfile "$WORK/backend.port" 2>>"$WORK/backend.log" &
PIDS+=($!)
for _ in $(seq 100); do
	[[ -s $WORK/backend.port ]] && break
	sleep 0.1
done
[[ -s $WORK/backend.port ]] || die "the backend did not start (see $WORK/backend.log)"
BACKEND=$(<"$WORK/backend.port")

# config NAME PORT writes the proxy configuration: one backend, keep-alive both
# ways, no access log (LOG=1: the combined format to a file), and enough
# keepalive_requests for every run.
config() {
	local ACCESS_LOG=off
	[[ ${LOG:-0} == 1 ]] && ACCESS_LOG="$WORK/$1/access.log"
	cat <<CONF
worker_processes 1;
pid $WORK/$1/proxy.pid;
error_log $WORK/$1/error.log warn;
events { worker_connections 4096; }
http {
    access_log $ACCESS_LOG;
    keepalive_requests 1000000;
    upstream backends {
        server 127.0.0.1:$BACKEND;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$2;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
}

# measure TARGET INDEX COUNT runs TARGET under callgrind for COUNT requests and
# leaves the profile in WORK/INDEX-COUNT/cg.out*.
measure() {
	local target=$1 dir="$WORK/$2-$3" count=$3 port vpid
	mkdir -p "$dir"
	port=$("$WORK/backend" -freeports 1)
	local -a cmd=(valgrind --tool=callgrind "--callgrind-out-file=$dir/cg.out")
	[[ ${CACHE:-0} == 1 ]] && cmd+=(--cache-sim=yes)
	case $target in
	nginx)
		mkdir -p "$dir/tmp"
		config "$2-$3" "$port" | sed "s|^http {|daemon off;\nmaster_process off;\nhttp {\n    client_body_temp_path $dir/tmp;\n    proxy_temp_path $dir/tmp;|" >"$dir/proxy.conf"
		[[ $(id -u) == 0 ]] && chown -R nobody "$dir/tmp"
		cmd+=(nginx -p "$dir" -e "$dir/error.log" -c "$dir/proxy.conf")
		;;
	floor | evloop) cmd+=("$WORK/$target" -addr "127.0.0.1:$port" "127.0.0.1:$BACKEND") ;;
	*)
		config "$2-$3" "$port" >"$dir/proxy.conf"
		[[ $target == . ]] && target=$WORK/fulcrum
		cmd+=("$target" -p "$dir" -e "$dir/error.log" -c "$dir/proxy.conf")
		;;
	esac
	# Go's asynchronous preemption signals crash callgrind 3.19; one P keeps
	# the Go targets comparable with the one-worker proxies.
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 "${cmd[@]}" >"$dir/valgrind.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 300); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	timeout 300 "$WORK/fixedload" -addr "127.0.0.1:$port" -n "$count" -c "$C" -path "$URI" "-browser=$([[ ${BROWSER:-0} == 1 ]] && echo true || echo false)" ||
		die "$target: fixedload failed (see $dir)"
	vpid=$(pgrep -f -- "--callgrind-out-file=$dir/cg.out") || die "$target: valgrind is gone (see $dir/valgrind.log)"
	# Dump, then kill: a Go program's signal handler on SIGTERM trips callgrind
	# 3.19 before it writes its profile.
	callgrind_control -d "$vpid" >/dev/null 2>&1
	kill -KILL "$vpid" 2>/dev/null || true
	wait "$vpid" 2>/dev/null || true
	ls "$dir"/cg.out.* >/dev/null 2>&1 || die "$target: no profile written (see $dir/valgrind.log)"
}

for i in "${!TARGETS[@]}"; do
	log "${TARGETS[$i]}: $W requests, then $((W + N)), over $C connection(s), $URI"
	measure "${TARGETS[$i]}" "$i" "$W"
	measure "${TARGETS[$i]}" "$i" "$((W + N))"
done

python3 "$ROOT/bench/callgrind_report.py" "$WORK" "$W" "$N" "$TOP" "${TARGETS[@]}"
[[ ${KEEP:-0} == 1 ]] && log "profiles in $WORK (callgrind_annotate $WORK/0-$((W + N))/cg.out.*)"
exit 0
