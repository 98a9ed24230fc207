# bench/lib.sh: what bench/run.sh and bench/perfstat.sh share: tools, cleanup,
# the backends, nginx and fulcrum with equivalent configurations, and /proc
# accounting. Source it after setting ROOT and PROXIES (nginx, fulcrum-1,
# fulcrum-auto: "fulcrum-N" runs with worker_processes N; floor: bench/floor,
# the least a Go proxy can do, with GOMAXPROCS=1; evloop: bench/evloop, the
# same as one epoll loop without goroutines); then call start_all.
# Everything started is stopped, and WORK removed (unless KEEP=1), on exit.

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# ensure_tools installs nginx-light and wrk from Debian when either is missing.
ensure_tools() {
	command -v go >/dev/null || die "go is not installed"
	if command -v nginx >/dev/null && command -v wrk >/dev/null; then
		return
	fi
	[[ $(id -u) == 0 ]] || die "nginx or wrk is missing; run as root or: apt-get install -y nginx-light wrk"
	log "installing nginx-light and wrk"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light wrk >/dev/null
	command -v nginx >/dev/null && command -v wrk >/dev/null || die "nginx or wrk still missing after install"
}

# ---- processes we start, stopped on exit -----------------------------------

PIDS=()
WORK=""
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	if [[ -n $WORK && ${KEEP:-0} != 1 ]]; then
		rm -rf "$WORK"
	elif [[ -n $WORK ]]; then
		log "kept $WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_port waits up to 10 s for 127.0.0.1:PORT to accept connections.
wait_port() {
	local port=$1
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "nothing listens on 127.0.0.1:$port"
}

# fetch prints the response to GET PATH on 127.0.0.1:PORT (HTTP/1.0, 5 s bound).
fetch() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n" "$2" >&3; cat <&3' _ "$1" "$2"
}

# ---- /proc accounting ----------------------------------------------------------

# proc_pids prints the pids that make up proxy NAME (nginx: master and workers).
proc_pids() {
	local pid=${MAIN_PID[$1]}
	echo "$pid"
	pgrep -P "$pid" || true
}

# cpu_ticks prints utime and stime, in clock ticks, summed over proxy NAME's
# processes.
cpu_ticks() {
	local user=0 sys=0 pid stat rest
	for pid in $(proc_pids "$1"); do
		stat=$(<"/proc/$pid/stat") || continue
		rest=${stat##*) } # fields from 3 (state) on; comm may hold spaces
		read -r -a f <<<"$rest"
		user=$((user + f[11])) # field 14, utime
		sys=$((sys + f[12]))   # field 15, stime
	done
	echo "$user $sys"
}

# mem_kb prints the sum of FIELD (VmRSS or VmHWM) in KiB over proxy NAME's processes.
mem_kb() {
	local total=0 pid v
	for pid in $(proc_pids "$1"); do
		v=$(awk -v k="$2:" '$1 == k { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# http_block is the part of the configuration both proxies share; WORKER_CONNECTIONS
# (default 4096) and HTTP_EXTRA (lines at the top of the http block) adjust it.
http_block() {
	cat <<EOF
events { worker_connections ${WORKER_CONNECTIONS:-4096}; }
http {
    access_log off;
    ${HTTP_EXTRA:-}
    upstream backends {
        server 127.0.0.1:${BACKENDS[0]};
        server 127.0.0.1:${BACKENDS[1]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
}

# start_all installs what is missing, builds fulcrum and the backend into a new
# WORK directory, starts two backends (GOMAXPROCS=1) and every proxy in PROXIES,
# and checks that each proxies /small. It fills PORT and MAIN_PID per proxy.
declare -A PORT MAIN_PID
start_all() {
	ensure_tools
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	WORK=$(mktemp -d /tmp/fulcrum-bench.XXXXXX)
	chmod 755 "$WORK"

	log "building fulcrum and the backend"
	# fulcrum and floor as README.md builds fulcrum: static, without libc.
	(cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/fulcrum" ./cmd/fulcrum && go build -o "$WORK/backend" ./bench/backend &&
		CGO_ENABLED=0 go build -o "$WORK/floor" ./bench/floor && CGO_ENABLED=0 go build -o "$WORK/evloop" ./bench/evloop)

	BACKENDS=()
	for i in 1 2; do
		GOMAXPROCS=1 "$WORK/backend" -portfile "$WORK/backend$i.port" 2>>"$WORK/backend$i.log" &
		PIDS+=($!)
		for _ in $(seq 100); do
			[[ -s $WORK/backend$i.port ]] && break
			sleep 0.1
		done
		[[ -s $WORK/backend$i.port ]] || die "backend $i did not start (see $WORK/backend$i.log)"
		BACKENDS+=("$(<"$WORK/backend$i.port")")
	done
	log "backends on 127.0.0.1:${BACKENDS[0]} and :${BACKENDS[1]}"

	local i name wp body
	local -a FREE
	mapfile -t FREE < <("$WORK/backend" -freeports "${#PROXIES[@]}")
	for i in "${!PROXIES[@]}"; do
		PORT[${PROXIES[$i]}]=${FREE[$i]}
	done

	# nginx: one worker, in the foreground so that we own its pid; temp files under
	# WORK (owned by the worker's user, since the master may run as root).
	mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
	{
		echo "daemon off;"
		echo "worker_processes 1;"
		echo "pid $WORK/nginx/nginx.pid;"
		echo "error_log $WORK/nginx/error.log warn;"
		http_block "${PORT[nginx]}" | sed "s|^http {|http {\n    client_body_temp_path $WORK/nginx/tmp/body;\n    proxy_temp_path $WORK/nginx/tmp/proxy;\n    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;\n    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;\n    scgi_temp_path $WORK/nginx/tmp/scgi;|"
	} >"$WORK/nginx.conf"
	[[ $(id -u) == 0 ]] && chown -R nobody "$WORK/nginx/tmp"
	nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx.conf" &
	MAIN_PID[nginx]=$!
	PIDS+=($!)

	# fulcrum: worker_processes 1 (GOMAXPROCS=1) and auto (all CPUs).
	for name in "${PROXIES[@]}"; do
		[[ $name == nginx ]] && continue
		if [[ $name == floor || $name == evloop ]]; then
			GOMAXPROCS=1 "$WORK/$name" -addr "127.0.0.1:${PORT[$name]}" "127.0.0.1:${BACKENDS[0]}" "127.0.0.1:${BACKENDS[1]}" 2>"$WORK/$name.log" &
			MAIN_PID[$name]=$!
			PIDS+=($!)
			continue
		fi
		wp=${name#fulcrum-}
		mkdir -p "$WORK/$name"
		{
			echo "worker_processes $wp;"
			echo "pid $WORK/$name/fulcrum.pid;"
			echo "error_log $WORK/$name/error.log warn;"
			http_block "${PORT[$name]}"
		} >"$WORK/$name.conf"
		"$WORK/fulcrum" -p "$WORK/$name" -e "$WORK/$name/error.log" -c "$WORK/$name.conf" &
		MAIN_PID[$name]=$!
		PIDS+=($!)
	done

	for name in "${PROXIES[@]}"; do
		wait_port "${PORT[$name]}"
		body=$(fetch "${PORT[$name]}" /small | tail -c 13)
		[[ $body == "Hello, World!" ]] || die "$name on :${PORT[$name]} did not proxy /small (got '$body')"
		log "$name on 127.0.0.1:${PORT[$name]} (pids $(proc_pids "$name" | tr '\n' ' '))"
	done
}
