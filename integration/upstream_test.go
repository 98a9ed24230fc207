package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// Modes of a ctlBackend.
const (
	modeOK   int32 = iota // answer "NAME METHOD URI"
	modeDrop              // close the connection without an answer (an upstream "error")
	mode502               // answer 502 "NAME 502"
)

// ctlBackend is a named test backend whose behaviour the test switches while
// fulcrum runs: it answers, drops the connection, or answers 502; requests for
// /slow... wait for release while holdSlow is set. It counts requests and the
// requests in flight.
type ctlBackend struct {
	name        string
	srv         *httptest.Server
	mode        atomic.Int32
	holdSlow    atomic.Bool
	hits        atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
	release     chan struct{} // closed to let held requests finish
	releaseOnce sync.Once
}

func startCtlBackend(t *testing.T, name string) *ctlBackend {
	t.Helper()
	b := &ctlBackend{name: name, release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	t.Cleanup(b.unblock) // runs before Close, which waits for held requests
	return b
}

func (b *ctlBackend) serve(w http.ResponseWriter, r *http.Request) {
	b.hits.Add(1)
	n := b.inflight.Add(1)
	defer b.inflight.Add(-1)
	for {
		m := b.maxInflight.Load()
		if n <= m || b.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	switch b.mode.Load() {
	case modeDrop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case mode502:
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "%s 502\n", b.name)
		return
	}
	if b.holdSlow.Load() && strings.HasPrefix(r.URL.Path, "/slow") {
		select {
		case <-b.release:
		case <-r.Context().Done():
			return
		}
	}
	fmt.Fprintf(w, "%s %s %s\n", b.name, r.Method, r.RequestURI)
}

// unblock lets every held request finish.
func (b *ctlBackend) unblock() { b.releaseOnce.Do(func() { close(b.release) }) }

func (b *ctlBackend) addr() string { return strings.TrimPrefix(b.srv.URL, "http://") }

// upstreamConf renders an http block with `upstream app { BODY }`, an access log
// %DIR%/access.log (flushed every 50ms; buffer=0 would be the natural choice,
// but fulcrum currently treats it as the default buffer) in the format "$request_uri $status
// $upstream_addr|$upstream_status", and a server on 127.0.0.1:0 proxying / to it
// with the extra location directives.
func upstreamConf(body, locationExtra string) string {
	return `
events {}
http {
    log_format up '$request_uri $status $upstream_addr|$upstream_status';
    access_log %DIR%/access.log up buffer=4k flush=50ms;
    upstream app {
` + body + `
    }
    server {
        listen 127.0.0.1:0;
        location / {
            ` + locationExtra + `
            proxy_pass http://app;
        }
    }
}`
}

// accessLine waits until the access log in dir has a line for uri and returns the
// rest of it: "$status $upstream_addr|$upstream_status".
func accessLine(t *testing.T, in *instance, uri string) string {
	t.Helper()
	var got string
	waitFor(t, "the access log line of "+uri, func() bool {
		for _, l := range readLines(filepath.Join(in.dir, "access.log")) {
			if u, rest, _ := strings.Cut(l, " "); u == uri {
				got = rest
				return true
			}
		}
		return false
	})
	return got
}

// answeredBy sends a GET and returns the status and the first word of the body
// (the backend's name).
func answeredBy(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	code, body := get(t, client, url)
	name, _, _ := strings.Cut(body, " ")
	return code, name
}

func TestUpstreamRecoversAfterFailTimeout(t *testing.T) {
	t.Parallel() // mostly waiting out fail_timeout; its own backends and process
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	a.mode.Store(modeDrop)
	const failTimeout = time.Second
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s max_fails=2 fail_timeout=1s;
        server %s;`, a.addr(), b.addr()), ""), 1)
	client := newClient()
	const disabled = "upstream server temporarily disabled"

	// a drops every connection: the clients never see it (retried on b), and
	// the second failure takes a out.
	before := time.Now()
	for i := 0; !in.logged(disabled); i++ {
		if i == 10 {
			t.Fatalf("a failed %d times and was not disabled", a.hits.Load())
		}
		if code, name := answeredBy(t, client, in.url(0)+"/"); code != 200 || name != "b" {
			t.Fatalf("request %d: %d from %q, want 200 from b", i, code, name)
		}
	}
	if got := a.hits.Load(); got != 2 {
		t.Errorf("a was disabled after %d failures, want max_fails=2", got)
	}
	if !in.logged(`[warn]`) || !in.logged(`upstream: "http://`+a.addr()+`/"`) {
		t.Errorf("the disable line is not a warn naming a's address")
	}

	// While out, a is skipped: requests inside the window never reach it.
	hits := a.hits.Load()
	for range 5 {
		if code, name := answeredBy(t, client, in.url(0)+"/"); code != 200 || name != "b" {
			t.Fatalf("while a is out: %d from %q", code, name)
		}
	}
	if time.Since(before) < failTimeout && a.hits.Load() != hits {
		t.Errorf("a got %d requests inside its fail_timeout", a.hits.Load()-hits)
	}

	// After the window one request probes a; it fails again: a is out for
	// another window and the disable line is logged again.
	probe := waitProbe(t, client, in, a, hits)
	if d := probe.Sub(before); d < failTimeout {
		t.Errorf("a was probed %v after it was disabled, before fail_timeout %v", d, failTimeout)
	}
	waitFor(t, "the second disable line", func() bool { return in.countLogged(disabled) == 2 })

	// a comes back; the next probe succeeds and a rejoins the rotation.
	a.mode.Store(modeOK)
	hits = a.hits.Load()
	afterProbe := time.Now()
	probe2 := waitProbe(t, client, in, a, hits)
	if d := probe2.Sub(afterProbe); d < failTimeout-100*time.Millisecond {
		t.Errorf("a was probed again %v after the failed probe, want about fail_timeout %v", d, failTimeout)
	}
	got := map[string]int{}
	for range 10 {
		code, name := answeredBy(t, client, in.url(0)+"/")
		if code != 200 {
			t.Fatalf("after recovery: status %d", code)
		}
		got[name]++
	}
	if got["a"] < 4 || got["b"] < 4 {
		t.Errorf("after a recovered, 10 requests went %v, want a and b alternating", got)
	}
	if n := in.countLogged(disabled); n != 2 {
		t.Errorf("%d disable lines, want 2 (the first failure run and the failed probe)", n)
	}
}

// waitProbe sends requests (all must succeed) until backend a has more than hits
// requests, and returns when that happened.
func waitProbe(t *testing.T, client *http.Client, in *instance, a *ctlBackend, hits int64) time.Time {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for a.hits.Load() == hits {
		if time.Now().After(deadline) {
			t.Fatal("a was never probed")
		}
		if code, _ := answeredBy(t, client, in.url(0)+"/"); code != 200 {
			t.Fatalf("while waiting for the probe: status %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

func TestUpstreamBackupAndDown(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	tests := []struct {
		name   string
		broken string // primaries that drop connections
		want   string // the only server that may answer once the broken ones are out
	}{
		{"primaries up: backup unused", "", "ab"},
		{"one primary down: the other, not the backup", "a", "b"},
		{"all primaries down: the backup", "ab", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := map[string]*ctlBackend{}
			for _, n := range []string{"a", "b", "c", "d"} {
				bs[n] = startCtlBackend(t, n)
				if strings.Contains(tt.broken, n) {
					bs[n].mode.Store(modeDrop)
				}
			}
			in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;
        server %s backup;
        server %s down;`, bs["a"].addr(), bs["b"].addr(), bs["c"].addr(), bs["d"].addr()), ""), 1)
			client := newClient()
			seen := map[string]int{}
			for range 12 {
				code, name := answeredBy(t, client, in.url(0)+"/")
				if code != 200 {
					t.Fatalf("status %d", code)
				}
				seen[name]++
			}
			for name, n := range seen {
				if !strings.Contains(tt.want, name) {
					t.Errorf("%s answered %d requests; only %q may (answers %v)", name, n, tt.want, seen)
				}
			}
			if len(seen) != len(tt.want) {
				t.Errorf("answers %v, want every one of %q", seen, tt.want)
			}
			if n := bs["d"].hits.Load(); n != 0 {
				t.Errorf("the down server got %d requests", n)
			}
			if n := bs["c"].hits.Load(); tt.want != "c" && n != 0 {
				t.Errorf("the backup got %d requests with a primary up", n)
			}
		})
	}
}

// sendAsync sends GET url in the background; the returned channel gets the
// status (0 for a transport error) and the first word of the body.
func sendAsync(client *http.Client, url string) <-chan [2]string {
	done := make(chan [2]string, 1)
	go func() {
		resp, err := client.Get(url)
		if err != nil {
			done <- [2]string{"0", err.Error()}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name, _, _ := strings.Cut(string(body), " ")
		done <- [2]string{fmt.Sprint(resp.StatusCode), name}
	}()
	return done
}

func TestUpstreamMaxConnsSpills(t *testing.T) {
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	a.holdSlow.Store(true)
	b.holdSlow.Store(true)
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s max_conns=1;
        server %s;`, a.addr(), b.addr()), ""), 1)
	client := newClient()
	const n = 6
	var answers []<-chan [2]string
	for i := range n {
		answers = append(answers, sendAsync(client, fmt.Sprintf("%s/slow/%d", in.url(0), i)))
	}
	waitFor(t, "all slow requests to reach a backend", func() bool {
		return a.inflight.Load()+b.inflight.Load() == n
	})
	if got := a.inflight.Load(); got != 1 {
		t.Errorf("a (max_conns=1) holds %d requests", got)
	}
	a.unblock()
	b.unblock()
	count := map[string]int{}
	for _, ch := range answers {
		r := <-ch
		if r[0] != "200" {
			t.Errorf("slow request: %v", r)
		}
		count[r[1]]++
	}
	if count["a"] != 1 || count["b"] != n-1 || a.maxInflight.Load() != 1 {
		t.Errorf("answers %v, a's most in flight %d; want a 1 and b %d", count, a.maxInflight.Load(), n-1)
	}
}

func TestUpstreamLeastConnAvoidsBusyServer(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	tests := []struct {
		method string
		wantA  func(int) bool // how many of 10 fast requests a may get while busy
	}{
		{"least_conn;", func(n int) bool { return n == 0 }},
		{"", func(n int) bool { return n >= 4 && n <= 6 }}, // round robin ignores the load
	}
	for _, tt := range tests {
		t.Run("method "+tt.method, func(t *testing.T) {
			a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
			a.holdSlow.Store(true) // b answers /slow at once
			in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        %s
        server %s;
        server %s;`, tt.method, a.addr(), b.addr()), ""), 1)
			client := newClient()
			// Send /slow until one sticks on a.
			var held <-chan [2]string
			for i := 0; held == nil; i++ {
				if i == 10 {
					t.Fatal("no slow request reached a")
				}
				ch := sendAsync(client, in.url(0)+"/slow")
				waitFor(t, "the slow request to finish or stick", func() bool {
					if a.inflight.Load() == 1 {
						held = ch
						return true
					}
					select {
					case r := <-ch:
						if r != [2]string{"200", "b"} {
							t.Fatalf("slow request: %v", r)
						}
						return true
					default:
						return false
					}
				})
			}
			hits := a.hits.Load()
			for range 10 {
				if code, _ := answeredBy(t, client, in.url(0)+"/fast"); code != 200 {
					t.Fatalf("status %d", code)
				}
			}
			if n := int(a.hits.Load() - hits); !tt.wantA(n) {
				t.Errorf("a, busy with one slow request, got %d of 10 requests", n)
			}
			a.unblock()
			if r := <-held; r != [2]string{"200", "a"} {
				t.Errorf("the held request: %v", r)
			}
		})
	}
}

// nginxIPHash is nginx's ip_hash choice among n servers of weight 1 for an IPv4
// client (ngx_http_upstream_get_ip_hash_peer, first try).
func nginxIPHash(ip net.IP, n int) int {
	h := uint32(89)
	for _, b := range ip.To4()[:3] {
		h = (h*113 + uint32(b)) % 6271
	}
	return int(h % uint32(n))
}

// clientFrom returns a client whose connections come from the loopback address
// src (any 127.0.0.0/8 address is local on Linux).
func clientFrom(src string) *http.Client {
	c := newClient()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c.Transport.(*http.Transport).DialContext = d.DialContext
	return c
}

func TestUpstreamIPHashKeepsClient(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	bs := []*ctlBackend{startCtlBackend(t, "s0"), startCtlBackend(t, "s1"), startCtlBackend(t, "s2")}
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        ip_hash;
        server %s;
        server %s;
        server %s;`, bs[0].addr(), bs[1].addr(), bs[2].addr()), ""), 1)
	used := map[string]bool{}
	for _, src := range []string{"127.0.0.1", "127.0.0.77", "127.1.0.1", "127.2.3.4", "127.9.9.9", "127.20.0.1", "127.33.1.1"} {
		t.Run(src, func(t *testing.T) {
			want := fmt.Sprintf("s%d", nginxIPHash(net.ParseIP(src), len(bs)))
			client := clientFrom(src)
			for range 6 {
				code, name := answeredBy(t, client, in.url(0)+"/")
				if code != 200 || name != want {
					t.Fatalf("client %s: %d from %s, want 200 from %s (nginx's ip_hash)", src, code, name, want)
				}
				client.CloseIdleConnections() // a new connection each time
			}
			used[want] = true
		})
	}
	if len(used) < 2 {
		t.Errorf("seven /24s all went to %v: the test addresses do not exercise the hash", used)
	}
}

func TestUpstreamConsistentHashRemapsFewKeys(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	bs := []*ctlBackend{startCtlBackend(t, "s0"), startCtlBackend(t, "s1"), startCtlBackend(t, "s2"), startCtlBackend(t, "s3")}
	conf := func(n int) string {
		var lines []string
		for _, b := range bs[:n] {
			lines = append(lines, "        server "+b.addr()+";")
		}
		return upstreamConf("        hash $request_uri consistent;\n"+strings.Join(lines, "\n"), "")
	}
	in := startFulcrum(t, conf(3), 1)
	awaitSignals(t, in)
	client := newClient()
	const keys = 120
	route := func() map[string]string {
		m := map[string]string{}
		for i := range keys {
			uri := fmt.Sprintf("/item/%d?v=%d", i*7919, i)
			code, name := answeredBy(t, client, in.url(0)+uri)
			if code != 200 {
				t.Fatalf("%s: status %d", uri, code)
			}
			m[uri] = name
		}
		return m
	}
	first := route()
	if again := route(); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Fatal("the same URIs went to different servers on a second pass")
	}
	share := map[string]int{}
	for _, s := range first {
		share[s]++
	}
	for _, b := range bs[:3] {
		if share[b.name] < keys/10 {
			t.Errorf("server %s got %d of %d keys: %v", b.name, share[b.name], keys, share)
		}
	}

	in.rewrite(strings.ReplaceAll(conf(4), "%DIR%", in.dir))
	in.signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return in.logged("reconfiguring: done") })
	after := route()
	moved := 0
	for uri, s := range after {
		if s == first[uri] {
			continue
		}
		moved++
		if s != "s3" {
			t.Errorf("%s moved from %s to %s: with consistent hashing keys move only to the new server", uri, first[uri], s)
		}
	}
	// About 1/4 of the keys move to the 4th server.
	if moved < keys/10 || moved > keys*45/100 {
		t.Errorf("%d of %d keys moved after adding a 4th server, want about 1/4", moved, keys)
	}
	t.Logf("%d of %d keys moved to the new server", moved, keys)
}

func TestUpstreamNextUpstream(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	tests := []struct {
		name      string
		directive string
		wantFirst string // "STATUS FROM": what the client got
		wantLog   string // "STATUS ADDRS|STATUSES", A and B standing for the addresses
		wantThird string // the third request's log line: a retried 502 took A out
	}{
		{"http_502 retried", "proxy_next_upstream error timeout http_502;", "200 b", "200 A, B|502, 200", "200 B|200"},
		{"default does not retry a 502", "", "502 a", "502 A|502", "502 A|502"},
		{"off", "proxy_next_upstream off;", "502 a", "502 A|502", "502 A|502"},
		{"tries 1", "proxy_next_upstream error timeout http_502; proxy_next_upstream_tries 1;", "502 a", "502 A|502", "502 A|502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
			a.mode.Store(mode502)
			in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;`, a.addr(), b.addr()), tt.directive), 1)
			client := newClient()
			r := strings.NewReplacer("A", a.addr(), "B", b.addr())
			code, name := answeredBy(t, client, in.url(0)+"/first")
			if got := fmt.Sprint(code, " ", name); got != tt.wantFirst {
				t.Errorf("first request answered %q, want %q", got, tt.wantFirst)
			}
			if got, want := accessLine(t, in, "/first"), r.Replace(tt.wantLog); got != want {
				t.Errorf("first request logged %q, want %q", got, want)
			}
			answeredBy(t, client, in.url(0)+"/second")
			if got, want := accessLine(t, in, "/second"), r.Replace("200 B|200"); got != want {
				t.Errorf("second request logged %q, want %q", got, want)
			}
			answeredBy(t, client, in.url(0)+"/third")
			if got, want := accessLine(t, in, "/third"), r.Replace(tt.wantThird); got != want {
				t.Errorf("third request logged %q, want %q", got, want)
			}
		})
	}
}

func TestUpstreamNextUpstreamTakesRetried502Out(t *testing.T) {
	a, b := startCtlBackend(t, "a"), startCtlBackend(t, "b")
	a.mode.Store(mode502)
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;`, a.addr(), b.addr()), "proxy_next_upstream error timeout http_502;"), 1)
	client := newClient()
	for i := range 6 {
		if code, name := answeredBy(t, client, fmt.Sprintf("%s/%d", in.url(0), i)); code != 200 || name != "b" {
			t.Fatalf("request %d: %d from %s, want 200 from b", i, code, name)
		}
	}
	// A retried 502 is a failure (max_fails=1): a is out after the first one.
	if n := a.hits.Load(); n != 1 {
		t.Errorf("a got %d requests, want 1 (then out for fail_timeout)", n)
	}
	waitFor(t, "the disable line", func() bool { return in.logged("upstream server temporarily disabled") })
}

// closedPorts returns n distinct loopback addresses that refuse connections
// until the test ends (testutil.RefusedAddr: held, so no other process
// can start listening on one while fulcrum counts it refused).
func closedPorts(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		addrs = append(addrs, testutil.RefusedAddr(t))
	}
	return addrs
}

func TestUpstreamAllDown(t *testing.T) {
	ports := closedPorts(t, 2)
	a, b := ports[0], ports[1]
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;`, a, b), ""), 1)
	client := newClient()
	tests := []struct{ uri, wantLog string }{
		{"/1", "502 " + a + ", " + b + "|502, 502"}, // both refused: each tried once
		{"/2", "502 app|502"},                       // both out: no server to try
		{"/3", "502 app|502"},
	}
	for _, tt := range tests {
		if code, _ := get(t, client, in.url(0)+tt.uri); code != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", tt.uri, code)
		}
		if got := accessLine(t, in, tt.uri); got != tt.wantLog {
			t.Errorf("%s logged %q, want %q", tt.uri, got, tt.wantLog)
		}
	}
	waitFor(t, "no live upstreams in the error log", func() bool {
		return in.logged("[error]") && in.countLogged("no live upstreams while connecting to upstream") == 2
	})
}

func TestUpstreamSingleServerNeverDisabled(t *testing.T) {
	a := startCtlBackend(t, "a")
	a.mode.Store(modeDrop)
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s max_fails=1 fail_timeout=30s;`, a.addr()), ""), 1)
	client := newClient()
	for i := range 5 {
		if code, _ := get(t, client, fmt.Sprintf("%s/%d", in.url(0), i)); code != http.StatusBadGateway {
			t.Fatalf("request %d: status %d, want 502", i, code)
		}
		if n := a.hits.Load(); n != int64(i+1) {
			t.Fatalf("after %d requests a got %d: a single server must be tried every time", i+1, n)
		}
	}
	a.mode.Store(modeOK)
	if code, name := answeredBy(t, client, in.url(0)+"/back"); code != 200 || name != "a" {
		t.Errorf("after a came back: %d from %s, want 200 from a at once (no fail_timeout)", code, name)
	}
	for _, s := range []string{"temporarily disabled", "no live upstreams"} {
		if in.logged(s) {
			t.Errorf("a single server upstream logged %q", s)
		}
	}
}

// TestUpstreamBackupAboveHashMethod: nginx 1.22.1 loads backup servers written
// above an ip_hash, hash or random line (it checks each server line against the
// method set before it) and reaches them through the method's round-robin
// fallback once the primaries failed. Recorded: with two refused primaries
// and "server c backup; ip_hash;" (or hash $arg_k consistent, or random) every
// request is answered by c, the first after one connect() failed per primary.
func TestUpstreamBackupAboveHashMethod(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	for name, method := range map[string]string{"ip_hash": "ip_hash;", "consistent hash": "hash $arg_k consistent;", "hash": "hash $arg_k;", "random": "random;"} {
		t.Run(name, func(t *testing.T) {
			ports := closedPorts(t, 2)
			c := startCtlBackend(t, "c")
			in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;
        server %s backup;
        %s`, ports[0], ports[1], c.addr(), method), ""), 1)
			client := newClient()
			for i := range 3 {
				code, name := answeredBy(t, client, fmt.Sprintf("%s/%d?k=key", in.url(0), i))
				if code != 200 || name != "c" {
					t.Errorf("request %d: status %d from %q, want 200 from the backup c", i, code, name)
				}
			}
		})
	}
}

// TestUpstreamNextUpstreamDoesNotWaitForBody: a response whose status is in
// proxy_next_upstream is left at once, as nginx 1.22.1 leaves it, without
// reading its body. Recorded: a server that sends a 503 head with
// "Content-Length: 100" and 5 bytes of body, then nothing, had the next
// server answer in 4 ms from nginx; fulcrum waited for the body until
// proxy_read_timeout (3.3 s with 3s).
func TestUpstreamNextUpstreamDoesNotWaitForBody(t *testing.T) {
	t.Parallel() // its own process, backends and temp dir; no upper time bound
	hold := make(chan struct{})
	stalled := testutil.RawBackend(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\nhello")
		<-hold // the rest of the body never comes
	})
	t.Cleanup(func() { close(hold) }) // before the backend's own cleanup
	ok := startCtlBackend(t, "ok")
	in := startFulcrum(t, upstreamConf(fmt.Sprintf(`
        server %s;
        server %s;`, stalled, ok.addr()), "proxy_next_upstream error timeout http_503; proxy_read_timeout 30s;"), 1)
	client := newClient()
	client.Timeout = 10 * time.Second // well under proxy_read_timeout
	for _, uri := range []string{"/1", "/2"} {
		code, name := answeredBy(t, client, in.url(0)+uri)
		if code != 200 || name != "ok" {
			t.Fatalf("%s: status %d from %q, want 200 from ok", uri, code, name)
		}
	}
	if got, want := accessLine(t, in, "/1"), "200 "+stalled+", "+ok.addr()+"|503, 200"; got != want {
		t.Errorf("/1 logged %q, want %q", got, want)
	}
}
