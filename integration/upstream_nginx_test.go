package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// This file replays, against fulcrum, request sequences recorded from nginx
// 1.22.1 on the same configurations and the same misbehaving backends (a
// differential sweep of upstream balancing and failure handling): for each
// request, the status, the backends that saw it in order, the access log's
// upstream variables (times by shape only: T) and the error log's lines.
//
// The same table runs against nginx itself (upstream_target_nginx_test.go):
//
//	go test -tags nginxdiff -count=1 -run TestUpstreamLikeNginx ./integration/
//
// which is how a row is recorded and how it is checked again.

// upRecorder notes which backend saw which request, in arrival order.
type upRecorder struct {
	mu   sync.Mutex
	seen map[string][]string // request path -> "NAME:METHOD" in order
}

func (r *upRecorder) note(uri, name, method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, _, _ := strings.Cut(uri, "?")
	r.seen[path] = append(r.seen[path], name+":"+method)
}

func (r *upRecorder) of(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.seen[path], " ")
}

// startUpBackend starts the backend a name stands for: "okN" answers 200
// "NAME METHOD URI", "rN" is a closed port (connection refused), "hangN"
// reads the request and never answers, "sCODE..." answers CODE,
// "closehead" closes in the middle of the response head, "badhdr" sends a
// header with a NUL in its name, "bigheader" a 10000-byte header. It returns the address.
func startUpBackend(t *testing.T, rec *upRecorder, name string) string {
	t.Helper()
	if strings.HasPrefix(name, "r") {
		return closedPorts(t, 1)[0]
	}
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			rec.note(req.URL.RequestURI(), name, req.Method)
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
			var resp string
			switch {
			case strings.HasPrefix(name, "ok"):
				body := fmt.Sprintf("%s %s %s\n", name, req.Method, req.URL.RequestURI())
				resp = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			case strings.HasPrefix(name, "hang"):
				io.Copy(io.Discard, c) // until fulcrum gives up and closes
				return
			case name == "closehead":
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Ty"))
				return
			case name == "bigheader": // over nginx's proxy_buffer_size and fulcrum's field limit
				c.Write([]byte("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\nContent-Length: 3\r\n\r\nbig"))
				return
			case name == "badhdr":
				c.Write([]byte("HTTP/1.1 200 OK\r\nX-Bad\x00: v\r\nContent-Length: 3\r\n\r\nbad"))
				return
			case strings.HasPrefix(name, "s"):
				code, _ := strconv.Atoi(name[1:4])
				body := name + "\n"
				resp = fmt.Sprintf("HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s", code, len(body), body)
			default:
				panic("unknown backend " + name)
			}
			if _, err := c.Write([]byte(resp)); err != nil {
				return
			}
		}
	})
}

// upReq is one request of a scenario and what nginx did with it.
type upReq struct {
	method string
	status int
	seen   string // backends that saw it, in order: "r1:GET ok1:GET"
	// log is `$status "$upstream_addr" "$upstream_status"
	// "$upstream_response_time" "$upstream_connect_time"
	// "$upstream_header_time"` with backend names for addresses and T for
	// times.
	log  string
	errs []string // its error log lines, "[level] message, upstream: ..."
	// connect, when set, is its $upstream_connect_time exactly (log has
	// times by shape only): "0.000" for a reused connection.
	connect string
}

var (
	upPlaceholder = regexp.MustCompile(`\{([\w:]+)\}`)
	upTime        = regexp.MustCompile(`\b\d+\.\d{3}\b`)
	upErrLine     = regexp.MustCompile(`^\S+ \S+ \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$`)
	upRequestOf   = regexp.MustCompile(`, request: "\w+ (/r\d+)[^"]*"`)
	upPathIn      = regexp.MustCompile(`/r\d+`)
	upNoise       = regexp.MustCompile(`, client: [^,]*|, server: [^,]*|, host: "[^"]*"`)
	upConnectTime = regexp.MustCompile(`"([^"]*)" "[^"]*"$`) // the access line's $upstream_connect_time
)

func GET(status int, seen, log string, errs ...string) upReq {
	return upReq{method: "GET", status: status, seen: seen, log: log, errs: errs}
}

// POST is a bodiless POST (Content-Length: 0), as curl -X POST -d ”.
func POST(status int, seen, log string, errs ...string) upReq {
	return upReq{method: "POST", status: status, seen: seen, log: log, errs: errs}
}

// reused is r on a kept-alive upstream connection: its connect time is
// 0.000, not "-".
func reused(r upReq) upReq {
	r.connect = "0.000"
	return r
}

// TestUpstreamLikeNginx runs the recorded scenarios.
func TestUpstreamLikeNginx(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		servers  string // the upstream block's body, {NAME} standing for a backend
		location string // extra directives of the proxying location
		// kind is the module the scenario runs with: "" for proxy_pass,
		// "fastcgi" for fastcgi_pass and FastCGI backends
		// (startFCGIUpBackend), "memcached" for memcached_pass and
		// memcached backends (startMCUpBackend), "grpc" for grpc_pass and
		// h2c backends (startGRPCUpBackend).
		kind string
		reqs []upReq
	}{
		{
			// A kept-alive connection took no time to get: 0.000, not "-".
			name:     "connect time of a reused connection",
			servers:  "server {ok1}; server {ok2}; keepalive 4;",
			location: `proxy_http_version 1.1; proxy_set_header Connection "";`,
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok2:GET", `200 "ok2" "200" "T" "T" "T"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok2:GET", `200 "ok2" "200" "T" "T" "T"`),
			},
		},
		{
			// max_fails=2: r1 is tried by every other request until its
			// second failure, then skipped for fail_timeout.
			name:    "a refused server counts toward max_fails",
			servers: "server {r1} max_fails=2 fail_timeout=30s; server {ok1};",
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "r1, ok1" "502, 200" "T, T" "-, T" "-, T"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://r1/r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok1:GET", `200 "r1, ok1" "502, 200" "T, T" "-, T" "-, T"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://r1/r3"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "http://r1/r3"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// Both refused, then both out: "no live upstreams", the
			// upstream's name in $upstream_addr, a response time.
			name:    "every server out",
			servers: "server {r1}; server {r2};",
			reqs: []upReq{
				GET(502, "", `502 "r1, r2" "502, 502" "T, T" "-, -" "-, -"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://r1/r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "http://r1/r1"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://r2/r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "http://r2/r1"`),
				GET(502, "", `502 "app" "502" "T" "-" "-"`,
					`[error] no live upstreams while connecting to upstream, upstream: "http://app/r2"`),
			},
		},
		{
			// The retry after hang's timeout finds r1 out: the request
			// ends with "no live upstreams" and 502, not the timeout's 504.
			name:    "a retry that finds no live upstream",
			servers: "server {hang} max_fails=0; server {r1};",
			reqs: []upReq{
				GET(502, "hang:GET", `502 "hang, r1" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://hang/r1"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "http://r1/r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "http://r1/r1"`),
				GET(502, "hang:GET", `502 "hang, app" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://hang/r2"`,
					`[error] no live upstreams while connecting to upstream, upstream: "http://app/r2"`),
			},
		},
		{
			// nginx frees the peer before it logs the timeout: the
			// "disabled" line comes first, and both say what nginx was
			// doing.
			name:    "a timeout takes the server out",
			servers: "server {hang}; server {ok1};",
			reqs: []upReq{
				GET(200, "hang:GET ok1:GET", `200 "hang, ok1" "504, 200" "T, T" "T, T" "-, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://hang/r1"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "http://hang/r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			name:    "a server that closes in the head",
			servers: "server {closehead}; server {ok1};",
			reqs: []upReq{
				GET(200, "closehead:GET ok1:GET", `200 "closehead, ok1" "502, 200" "T, T" "T, T" "-, T"`,
					`[error] upstream prematurely closed connection while reading response header from upstream, upstream: "http://closehead/r1"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://closehead/r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			name:     "a head too big",
			servers:  "server {bigheader}; server {ok1};",
			location: "proxy_next_upstream error timeout invalid_header;",
			reqs: []upReq{
				GET(200, "bigheader:GET ok1:GET", `200 "bigheader, ok1" "502, 200" "T, T" "T, T" "-, T"`,
					`[error] upstream sent too big header while reading response header from upstream, upstream: "http://bigheader/r1"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://bigheader/r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// A listed http_429 counts as a failure (only 403 and 404
			// do not).
			name:     "a retried 429 takes the server out",
			servers:  "server {s429}; server {ok1};",
			location: "proxy_next_upstream error http_429;",
			reqs: []upReq{
				GET(200, "s429:GET ok1:GET", `200 "s429, ok1" "429, 200" "T, T" "T, T" "T, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://s429/r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// A listed 503 on the last try is passed as is and counts
			// nothing; the next request's 503 has a try left, counts, and
			// its retry finds s500 out: 502.
			name:     "listed statuses, then no live upstream",
			servers:  "server {s500}; server {s503};",
			location: "proxy_next_upstream error timeout http_500 http_503;",
			reqs: []upReq{
				GET(503, "s500:GET s503:GET", `503 "s500, s503" "500, 503" "T, T" "T, T" "T, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://s500/r1"`),
				GET(502, "s503:GET", `502 "s503, app" "503, 502" "T, T" "T, -" "T, -"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "http://s503/r2"`,
					`[error] no live upstreams while connecting to upstream, upstream: "http://app/r2"`),
				GET(502, "", `502 "app" "502" "T" "-" "-"`,
					`[error] no live upstreams while connecting to upstream, upstream: "http://app/r3"`),
			},
		},
		{
			// fastcgi_keep_conn: a kept-alive connection's connect time
			// is 0.000, not "-".
			name:     "FastCGI: connect time of a reused connection",
			kind:     "fastcgi",
			servers:  "server {ok1}; keepalive 4;",
			location: "fastcgi_keep_conn on;",
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// As the proxy's: the timeout's "disabled" line first, then
			// the retry after a listed 503 finds hang out: 502 and "no
			// live upstreams" naming the upstream (fastcgi://app).
			name:     "FastCGI: a timeout, a listed 503, then no live upstream",
			kind:     "fastcgi",
			servers:  "server {hang} max_fails=1; server {s503} max_fails=1;",
			location: "fastcgi_next_upstream error timeout http_503;",
			reqs: []upReq{
				GET(503, "hang:GET s503:GET", `503 "hang, s503" "504, 503" "T, T" "T, T" "-, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "fastcgi://hang"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "fastcgi://hang"`),
				GET(502, "s503:GET", `502 "s503, app" "503, 502" "T, T" "T, -" "T, -"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "fastcgi://s503"`,
					`[error] no live upstreams while connecting to upstream, upstream: "fastcgi://app"`),
				GET(502, "", `502 "app" "502" "T" "-" "-"`,
					`[error] no live upstreams while connecting to upstream, upstream: "fastcgi://app"`),
			},
		},
		{
			// A connection closed in the head is nginx's "prematurely
			// closed connection", not "... FastCGI stdout".
			name:    "FastCGI: a server that closes in the head",
			kind:    "fastcgi",
			servers: "server {closehead}; server {ok1};",
			reqs: []upReq{
				GET(200, "closehead:GET ok1:GET", `200 "closehead, ok1" "502, 200" "T, T" "T, T" "-, T"`,
					`[error] upstream prematurely closed connection while reading response header from upstream, upstream: "fastcgi://closehead"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "fastcgi://closehead"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// Without fastcgi_keep_conn nginx reads the body to the
			// close: a close before END_REQUEST is its end, a 200 with
			// nothing logged (recorded from nginx 1.22.1).
			name:    "FastCGI: a server that closes in the body",
			kind:    "fastcgi",
			servers: "server {closebody};",
			reqs: []upReq{
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`),
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`),
			},
		},
		{
			// With keep_conn (and buffering) the close is an error, the
			// client's connection cut, the server not counted as failed.
			name:     "FastCGI: a keep_conn server that closes in the body",
			kind:     "fastcgi",
			servers:  "server {closebody};",
			location: "fastcgi_keep_conn on;",
			reqs: []upReq{
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`,
					`[error] upstream prematurely closed connection while reading upstream, upstream: "fastcgi://closebody"`),
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`,
					`[error] upstream prematurely closed connection while reading upstream, upstream: "fastcgi://closebody"`),
			},
		},
		// The memcached rows were recorded from nginx 1.22.1 with
		// -tags nginxdiff (see the top of this file), on the same
		// startMCUpBackend backends.
		{
			// keepalive: the second request takes the first's idle
			// connection, whose connect time is 0.000, not "-".
			name:    "memcached: connect time of a reused connection",
			kind:    "memcached",
			servers: "server {ok1}; keepalive 4;",
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				reused(GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`)),
			},
		},
		{
			// Both refused, then both out: "no live upstreams" naming
			// the upstream (memcached://app), its name in $upstream_addr.
			name:    "memcached: every server out",
			kind:    "memcached",
			servers: "server {r1}; server {r2};",
			reqs: []upReq{
				GET(502, "", `502 "r1, r2" "502, 502" "T, T" "-, -" "-, -"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "memcached://r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "memcached://r1"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "memcached://r2"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "memcached://r2"`),
				GET(502, "", `502 "app" "502" "T" "-" "-"`,
					`[error] no live upstreams while connecting to upstream, upstream: "memcached://app"`),
			},
		},
		{
			// The retry after hang's timeout finds r1 out: 502 and "no
			// live upstreams", not the timeout's 504.
			name:    "memcached: a retry that finds no live upstream",
			kind:    "memcached",
			servers: "server {hang} max_fails=0; server {r1};",
			reqs: []upReq{
				GET(502, "hang:GET", `502 "hang, r1" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "memcached://hang"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "memcached://r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "memcached://r1"`),
				GET(502, "hang:GET", `502 "hang, app" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "memcached://hang"`,
					`[error] no live upstreams while connecting to upstream, upstream: "memcached://app"`),
			},
		},
		{
			// The "disabled" line first, then the timeout's, both with
			// what nginx was doing.
			name:    "memcached: a timeout takes the server out",
			kind:    "memcached",
			servers: "server {hang}; server {ok1};",
			reqs: []upReq{
				GET(200, "hang:GET ok1:GET", `200 "hang, ok1" "504, 200" "T, T" "T, T" "-, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "memcached://hang"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "memcached://hang"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// A close and a reset before the first line: the error, then
			// "disabled" while reading the response header.
			name:    "memcached: servers that close or reset in the head",
			kind:    "memcached",
			servers: "server {closehead}; server {reset}; server {ok1};",
			reqs: []upReq{
				GET(200, "closehead:GET reset:GET ok1:GET", `200 "closehead, reset, ok1" "502, 502, 200" "T, T, T" "T, T, T" "-, -, T"`,
					`[error] upstream prematurely closed connection while reading response header from upstream, upstream: "memcached://closehead"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "memcached://closehead"`,
					`[error] recv() failed (104: Connection reset by peer) while reading response header from upstream, upstream: "memcached://reset"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "memcached://reset"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// The value breaks off after the head went out: 200, the
			// client's connection cut, the server not counted as failed.
			name:    "memcached: a server that closes in the value",
			kind:    "memcached",
			servers: "server {closebody};",
			reqs: []upReq{
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`,
					`[error] upstream prematurely closed connection while reading upstream, upstream: "memcached://closebody"`),
				GET(200, "closebody:GET", `200 "closebody" "200" "T" "T" "T"`,
					`[error] upstream prematurely closed connection while reading upstream, upstream: "memcached://closebody"`),
			},
		},
		{
			// A miss is a 404 with a complete timing and only an info
			// line; an error reply or a line that is no reply at all
			// is an invalid response: 502, no header time, and it
			// counts as a failure (not retried: invalid_response is
			// not in the default memcached_next_upstream).
			name:    "memcached: a miss, an error reply, garbage",
			kind:    "memcached",
			servers: "server {miss}; server {servererr}; server {garbage};",
			reqs: []upReq{
				GET(404, "miss:GET", `404 "miss" "404" "T" "T" "T"`),
				GET(502, "servererr:GET", `502 "servererr" "502" "T" "T" "-"`,
					`[error] memcached sent invalid response: "SERVER_ERROR out of memory" while reading response header from upstream, upstream: "memcached://servererr"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "memcached://servererr"`),
				GET(502, "garbage:GET", `502 "garbage" "502" "T" "T" "-"`,
					`[error] memcached sent invalid response: "HTTP/1.1 200 OK" while reading response header from upstream, upstream: "memcached://garbage"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "memcached://garbage"`),
				GET(404, "miss:GET", `404 "miss" "404" "T" "T" "T"`),
			},
		},
		// The gRPC rows were recorded from nginx 1.22.1 with -tags
		// nginxdiff (see the top of this file), on the same h2c
		// startGRPCUpBackend backends.
		{
			// A kept-alive HTTP/2 connection: the second request's
			// connect time is 0.000, not "-". nginx keeps one only with
			// keepalive (fulcrum keeps them anyway).
			name:    "gRPC: connect time of a reused connection",
			kind:    "grpc",
			servers: "server {ok1}; keepalive 8;",
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
				reused(GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`)),
			},
		},
		{
			// As the proxy's: connect() failed, then "disabled", and
			// the retry's answer.
			name:    "gRPC: a refused server",
			kind:    "grpc",
			servers: "server {r1}; server {ok1};",
			reqs: []upReq{
				GET(200, "ok1:GET", `200 "r1, ok1" "502, 200" "T, T" "-, T" "-, T"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "grpc://r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "grpc://r1"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// A stream reset (RST_STREAM INTERNAL_ERROR) before the
			// head: nginx's "upstream rejected request with error 2",
			// an invalid header (502, no header time, counted as a
			// failure, not retried by default).
			name:    "gRPC: a server that resets the stream",
			kind:    "grpc",
			servers: "server {reset}; server {ok1};",
			reqs: []upReq{
				GET(502, "reset:GET", `502 "reset" "502" "T" "T" "-"`,
					`[error] upstream rejected request with error 2 while reading response header from upstream, upstream: "grpc://reset"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "grpc://reset"`),
				GET(200, "ok1:GET", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
		{
			// Under invalid_header the reset is retried on the next
			// server.
			name:     "gRPC: a reset stream retried under invalid_header",
			kind:     "grpc",
			servers:  "server {reset}; server {ok1};",
			location: "grpc_next_upstream error timeout invalid_header non_idempotent;",
			reqs: []upReq{
				GET(200, "reset:GET ok1:GET", `200 "reset, ok1" "502, 200" "T, T" "T, T" "-, T"`,
					`[error] upstream rejected request with error 2 while reading response header from upstream, upstream: "grpc://reset"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "grpc://reset"`),
			},
		},
		{
			// A GET that reached the server is retried without
			// non_idempotent, as nginx judges it by the request's method
			// (nginx-tests grpc_next_upstream.t, recorded with nginx
			// 1.22.1: GET /444, a stream the first server reset, went on
			// to the second under "grpc_next_upstream http_500 http_404
			// invalid_header"); a POST is not.
			name:     "gRPC: a GET reset retried under invalid_header without non_idempotent",
			kind:     "grpc",
			servers:  "server {reset}; server {ok1};",
			location: "grpc_next_upstream error timeout invalid_header;",
			reqs: []upReq{
				GET(200, "reset:GET ok1:GET", `200 "reset, ok1" "502, 200" "T, T" "T, T" "-, T"`,
					`[error] upstream rejected request with error 2 while reading response header from upstream, upstream: "grpc://reset"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "grpc://reset"`),
			},
		},
		{
			// The retry after hang's timeout finds r1 out: 502 and "no
			// live upstreams" naming grpc://app, not the timeout's 504.
			name:     "gRPC: a retry that finds no live upstream",
			kind:     "grpc",
			servers:  "server {hang} max_fails=0; server {r1};",
			location: "grpc_next_upstream error timeout non_idempotent;",
			reqs: []upReq{
				GET(502, "hang:GET", `502 "hang, r1" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "grpc://hang"`,
					`[error] connect() failed (111: Connection refused) while connecting to upstream, upstream: "grpc://r1"`,
					`[warn] upstream server temporarily disabled while connecting to upstream, upstream: "grpc://r1"`),
				GET(502, "hang:GET", `502 "hang, app" "504, 502" "T, T" "T, -" "-, -"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "grpc://hang"`,
					`[error] no live upstreams while connecting to upstream, upstream: "grpc://app"`),
			},
		},
		{
			// A bodiless POST (curl -X POST -d '') is retried after a
			// timeout under non_idempotent: there is nothing to send
			// again. The "disabled" line comes before the timeout's.
			name:     "gRPC: a bodiless POST is retried, a timeout takes the server out",
			kind:     "grpc",
			servers:  "server {hang}; server {ok1};",
			location: "grpc_next_upstream error timeout non_idempotent;",
			reqs: []upReq{
				POST(200, "hang:POST ok1:POST", `200 "hang, ok1" "504, 200" "T, T" "T, T" "-, T"`,
					`[warn] upstream server temporarily disabled while reading response header from upstream, upstream: "grpc://hang"`,
					`[error] upstream timed out (110: Connection timed out) while reading response header from upstream, upstream: "grpc://hang"`),
				POST(200, "ok1:POST", `200 "ok1" "200" "T" "T" "T"`),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &upRecorder{seen: map[string][]string{}}
			names := map[string]string{} // address -> name
			addrs := map[string]string{} // name -> address
			servers := upPlaceholder.ReplaceAllStringFunc(tt.servers, func(m string) string {
				n := m[1 : len(m)-1]
				if addrs[n] == "" {
					switch tt.kind {
					case "fastcgi":
						addrs[n] = startFCGIUpBackend(t, rec, n)
					case "memcached":
						addrs[n] = startMCUpBackend(t, rec, n)
					case "grpc":
						addrs[n] = startGRPCUpBackend(t, rec, n)
					default:
						addrs[n] = startUpBackend(t, rec, n)
					}
					names[addrs[n]] = n
				}
				return addrs[n]
			})
			pass, listen := "proxy_pass http://app;", ""
			switch tt.kind {
			case "fastcgi":
				pass = "fastcgi_param REQUEST_METHOD $request_method; fastcgi_param REQUEST_URI $request_uri; " +
					"fastcgi_param SERVER_PROTOCOL $server_protocol; fastcgi_pass app;"
			case "memcached":
				pass = "set $memcached_key $uri; memcached_pass app;"
			case "grpc":
				// The client speaks h2c, as a gRPC client does: its
				// bodiless POST is a stream ended with the head (a body
				// that reads nothing), not HTTP/1.1's Content-Length: 0.
				pass, listen = "grpc_pass grpc://app;", " http2"
			}
			in := startUpstreamTarget(t, `
events {}
http {
    log_format up '$request_uri $status "$upstream_addr" "$upstream_status" "$upstream_response_time" "$upstream_connect_time" "$upstream_header_time"';
    access_log %DIR%/access.log up buffer=4k flush=50ms;
    proxy_connect_timeout 1s;
    proxy_read_timeout 300ms;
    fastcgi_connect_timeout 1s;
    fastcgi_read_timeout 300ms;
    memcached_connect_timeout 1s;
    memcached_read_timeout 300ms;
    grpc_connect_timeout 1s;
    grpc_read_timeout 300ms;
    upstream app {
        `+servers+`
    }
    server {
        listen 127.0.0.1:0`+listen+`;
        location / {
            `+tt.location+`
            `+pass+`
        }
        location /err/ { return 200 "errpage $status\n"; }
    }
}`)
			named := func(s string) string {
				for a, n := range names {
					s = strings.ReplaceAll(s, a, n)
				}
				return s
			}
			errsOf := func(path string) []string {
				var out []string
				for _, l := range in.logLines() {
					m := upErrLine.FindStringSubmatch(l)
					if m == nil || m[1] == "notice" || m[1] == "info" {
						continue
					}
					r := upRequestOf.FindStringSubmatch(m[2])
					if r == nil || r[1] != path {
						continue
					}
					msg := upRequestOf.ReplaceAllString(upNoise.ReplaceAllString(m[2], ""), "")
					out = append(out, "["+m[1]+"] "+named(msg))
				}
				return out
			}
			client := newClient()
			if tt.kind == "grpc" {
				tr := testutil.H2CTransport(in.listening()[0])
				t.Cleanup(tr.CloseIdleConnections)
				client = &http.Client{Transport: tr}
			}
			for i, r := range tt.reqs {
				path := fmt.Sprintf("/r%d", i+1)
				req, err := http.NewRequest(r.method, in.url(0)+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != r.status {
					t.Errorf("%s: status %d, nginx %d", path, resp.StatusCode, r.status)
				}
				if got := rec.of(path); got != r.seen {
					t.Errorf("%s: seen by %q, nginx %q", path, got, r.seen)
				}
				line := accessLine(t, in, path)
				if got := upTime.ReplaceAllString(named(line), "T"); got != r.log {
					t.Errorf("%s: logged\n  %s\nnginx\n  %s", path, got, r.log)
				}
				if m := upConnectTime.FindStringSubmatch(line); r.connect != "" && (m == nil || m[1] != r.connect) {
					t.Errorf("%s: $upstream_connect_time in\n  %s\nnginx %q", path, line, r.connect)
				}
			}
			// The error lines are read from fulcrum's stderr: wait for the
			// last request's, then compare every request's.
			last := fmt.Sprintf("/r%d", len(tt.reqs))
			waitFor(t, "the error log lines", func() bool { return len(errsOf(last)) >= len(tt.reqs[len(tt.reqs)-1].errs) })
			deadline := time.Now().Add(5 * time.Second)
			for i, r := range tt.reqs {
				path := fmt.Sprintf("/r%d", i+1)
				got := errsOf(path)
				for len(got) < len(r.errs) && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
					got = errsOf(path)
				}
				if strings.Join(got, "\n") != strings.Join(r.errs, "\n") {
					t.Errorf("%s: error log\n  %s\nnginx\n  %s", path, strings.Join(got, "\n  "), strings.Join(r.errs, "\n  "))
				}
			}
		})
	}
}

// startFCGIUpBackend starts the FastCGI backend a name stands for, as
// startUpBackend: "okN" answers 200, "sCODE..." answers Status: CODE (both
// Go's net/http/fcgi, which keeps a connection fastcgi_keep_conn asks
// for), "rN" is a closed port, "hang" reads the request and never answers,
// "closehead" closes after the request, "closebody" after a head and part
// of the body, without END_REQUEST. It returns the address.
func startFCGIUpBackend(t *testing.T, rec *upRecorder, name string) string {
	t.Helper()
	raw := func(then func(c net.Conn)) string {
		return testutil.RawBackend(t, func(c net.Conn) {
			buf := make([]byte, 4096)
			n, _ := c.Read(buf) // the records hold REQUEST_URI
			rec.note(string(upPathIn.Find(buf[:n])), name, "GET")
			then(c)
		})
	}
	switch {
	case strings.HasPrefix(name, "r"):
		return closedPorts(t, 1)[0]
	case name == "hang":
		return raw(func(c net.Conn) { io.Copy(io.Discard, c) })
	case name == "closehead":
		return raw(func(net.Conn) {})
	case name == "closebody": // a head and part of the body, then the close
		return raw(func(c net.Conn) {
			out := "Content-Type: text/plain\r\n\r\npart"
			c.Write(append([]byte{1, 6, 0, 1, 0, byte(len(out)), 0, 0}, out...))
			c.Write([]byte{1, 6, 0, 1, 0, 50, 0, 0, 'x'}) // a record of 50 bytes, 1 sent
		})
	}
	code := http.StatusOK
	if strings.HasPrefix(name, "s") {
		code, _ = strconv.Atoi(name[1:4])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go fcgi.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.note(r.URL.RequestURI(), name, r.Method)
		w.WriteHeader(code)
		fmt.Fprintf(w, "%s %s %s\n", name, r.Method, r.URL.RequestURI())
	}))
	return ln.Addr().String()
}

// startMCUpBackend starts the memcached backend a name stands for, as
// startUpBackend: "okN" answers every "get KEY" with a value on a
// connection it keeps, "rN" is a closed port, "hang" reads the command and
// never answers, "closehead" closes after the command, "reset" resets the
// connection after it, "closebody" sends a value's first line and part of
// the value, then closes. The key is the request's $uri. It returns the
// address.
func startMCUpBackend(t *testing.T, rec *upRecorder, name string) string {
	t.Helper()
	if strings.HasPrefix(name, "r") && name != "reset" {
		return closedPorts(t, 1)[0]
	}
	return testutil.RawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			key, _ := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), "get ")
			rec.note(key, name, "GET")
			switch {
			case strings.HasPrefix(name, "ok"):
				v := name + " " + key
				if _, err := fmt.Fprintf(c, "VALUE %s 0 %d\r\n%s\r\nEND\r\n", key, len(v), v); err != nil {
					return
				}
				continue
			case name == "miss":
				io.WriteString(c, "END\r\n")
				continue
			case name == "servererr":
				io.WriteString(c, "SERVER_ERROR out of memory\r\n")
				continue
			case name == "garbage":
				io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n")
				continue
			case name == "hang":
				io.Copy(io.Discard, br) // until fulcrum gives up and closes
			case name == "closehead":
			case name == "reset":
				c.(*net.TCPConn).SetLinger(0)
			case name == "closebody":
				fmt.Fprintf(c, "VALUE %s 0 100\r\npartial", key)
				// The close comes later, on its own: when it comes with
				// the part, nginx reads both at once and its line says
				// "while sending to client" instead.
				time.Sleep(50 * time.Millisecond)
			default:
				panic("unknown backend " + name)
			}
			return
		}
	})
}

// startGRPCUpBackend starts the gRPC backend (HTTP/2 cleartext) a name
// stands for, as startUpBackend: "okN" answers 200 application/grpc with a
// message "NAME METHOD URI" and grpc-status 0, "rN" is a closed port,
// "hang" never answers (until fulcrum resets the stream), "reset" resets
// the stream (INTERNAL_ERROR) before any answer. It returns the address.
func startGRPCUpBackend(t *testing.T, rec *upRecorder, name string) string {
	t.Helper()
	if strings.HasPrefix(name, "r") && name != "reset" {
		return closedPorts(t, 1)[0]
	}
	return testutil.H2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.note(r.URL.RequestURI(), name, r.Method)
		io.Copy(io.Discard, r.Body)
		switch {
		case strings.HasPrefix(name, "ok"):
			w.Header().Set("Content-Type", "application/grpc")
			w.Header().Set("Trailer", "Grpc-Status")
			w.WriteHeader(http.StatusOK)
			w.Write(testutil.GRPCFrame(fmt.Sprintf("%s %s %s", name, r.Method, r.URL.RequestURI())))
			w.Header().Set("Grpc-Status", "0")
		case name == "hang":
			<-r.Context().Done()
		case name == "reset":
			panic(http.ErrAbortHandler) // RST_STREAM before any answer
		default:
			panic("unknown backend " + name)
		}
	}))
}
