package stream

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/testutil"
)

// echoBackend is a TCP server that answers each line with "NAME LINE".
type echoBackend struct {
	name string
	ln   net.Listener
	mu   sync.Mutex // guards first
	// first is the first line of each connection (the PROXY header when
	// the proxy sends one).
	first []string
}

func startEcho(t *testing.T, name string) *echoBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{name: name, ln: ln}
	testutil.Serve(t, ln, b.serve)
	return b
}

func (b *echoBackend) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 0; ; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if i == 0 {
			b.mu.Lock()
			b.first = append(b.first, line)
			b.mu.Unlock()
		}
		fmt.Fprintf(c, "%s %s", b.name, line)
	}
}

func (b *echoBackend) addr() string { return b.ln.Addr().String() }

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// load builds the stream block of body, with %DIR% a temporary directory.
func load(t *testing.T, dir, body string) *config.Stream {
	t.Helper()
	path := filepath.Join(dir, "f.conf")
	src := "events {}\nstream {\n" + strings.ReplaceAll(body, "%DIR%", dir) + "\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Stream
}

// start runs a Proxy on cfg and returns it with its first address.
func start(t *testing.T, cfg *config.Stream) (*Proxy, string) {
	t.Helper()
	p := New(Options{})
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, addrs[0].String()
}

// client is a line-oriented connection to the proxy.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends line and returns the answer line, or "EOF".
func (cl *client) ask(t *testing.T, line string) string {
	t.Helper()
	if _, err := io.WriteString(cl.c, line+"\n"); err != nil {
		return "EOF"
	}
	got, err := cl.r.ReadString('\n')
	if err != nil {
		return "EOF"
	}
	return strings.TrimSuffix(got, "\n")
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readFile(t *testing.T, path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// TestBalancing checks the methods through real sessions: round robin by
// weight, failover past a dead server (counted against it), hash pinning a
// client, and 502 when no server answers.
func TestBalancing(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	dead := deadAddr(t)
	tests := []struct {
		name     string
		upstream string
		want     []string
	}{
		{"round robin", fmt.Sprintf("server %s; server %s;", a.addr(), b.addr()), []string{"a x", "b x", "a x", "b x"}},
		{"weights", fmt.Sprintf("server %s weight=2; server %s;", a.addr(), b.addr()), []string{"a x", "b x", "a x", "a x", "b x", "a x"}},
		{"failover past a dead server", fmt.Sprintf("server %s; server %s;", dead, b.addr()), []string{"b x", "b x", "b x"}},
		{"backup", fmt.Sprintf("server %s; server %s backup;", dead, a.addr()), []string{"a x", "a x"}},
		{"down", fmt.Sprintf("server %s down; server %s;", a.addr(), b.addr()), []string{"b x", "b x"}},
		{"hash pins the client", fmt.Sprintf("hash $remote_addr; server %s; server %s;", a.addr(), b.addr()), nil},
		{"no live upstreams", fmt.Sprintf("server %s;", dead), []string{"EOF", "EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, t.TempDir(), fmt.Sprintf("upstream u { %s } server { listen 127.0.0.1:0; proxy_pass u; }", tt.upstream))
			_, addr := start(t, cfg)
			var got []string
			n := len(tt.want)
			if tt.want == nil {
				n = 4
			}
			for i := 0; i < n; i++ {
				got = append(got, dial(t, addr).ask(t, "x"))
			}
			if tt.want == nil { // hash: every answer the same
				for _, g := range got {
					if g != got[0] || g == "EOF" {
						t.Fatalf("hash answers %q", got)
					}
				}
				return
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("answers %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAccessLog checks the variables of a session's log line, as nginx
// 1.22.1 wrote them for the same sessions: a failover (two servers in
// $upstream_addr, "-" for the failed connect time) and a 502.
func TestAccessLog(t *testing.T) {
	a := startEcho(t, "a")
	dead := deadAddr(t)
	dir := t.TempDir()
	cfg := load(t, dir, fmt.Sprintf(`
log_format f '$protocol|$status|$bytes_sent|$bytes_received|$upstream_addr|$upstream_bytes_sent|$upstream_bytes_received|$remote_addr';
access_log %%DIR%%/s.log f;
upstream two { server %s; server %s; }
upstream dead { server %s; }
server { listen 127.0.0.1:0; proxy_pass two; }
server { listen 127.0.0.1:0; proxy_pass dead; }`, dead, a.addr(), dead))
	p := New(Options{})
	addrs, err := p.Apply(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cl := dial(t, addrs[0].String())
	if got := cl.ask(t, "hi"); got != "a hi" {
		t.Fatalf("answer %q", got)
	}
	cl.c.Close()
	if got := dial(t, addrs[1].String()).ask(t, "hi"); got != "EOF" {
		t.Fatalf("502 session answered %q", got)
	}
	path := filepath.Join(dir, "s.log")
	waitFor(t, "two log lines", func() bool { return strings.Count(readFile(t, path), "\n") == 2 })
	lines := strings.Split(strings.TrimSpace(readFile(t, path)), "\n")
	want := map[string]bool{
		fmt.Sprintf("TCP|200|5|3|%s, %s|0, 3|0, 5|127.0.0.1", dead, a.addr()): true,
		fmt.Sprintf("TCP|502|0|0|%s|0|0|127.0.0.1", dead):                     true,
	}
	for _, l := range lines {
		if !want[l] {
			t.Errorf("unexpected log line %q (want %v)", l, want)
		}
	}
}

// TestStreamLevelAccessLogOpened: nginx opens every access_log it reads,
// the stream block's own too when every server has its own (or "off"), so
// that file exists, empty. Recorded with nginx 1.22.1 (nginx-tests
// stream_access_log.t, "log off": stream { access_log off.log test; }
// with "access_log off" and other logs in the servers leaves an empty
// off.log). A stream-level log naming no format is refused as a server's.
func TestStreamLevelAccessLogOpened(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	p, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f $remote_addr;
access_log %%DIR%%/off.log f;
server { listen 127.0.0.1:0; proxy_pass %s; access_log off; }
server { listen 127.0.0.1:0; proxy_pass %s; access_log %%DIR%%/own.log f; }`, a.addr(), a.addr())))
	cl := dial(t, addr)
	if got := cl.ask(t, "hi"); got != "a hi" {
		t.Fatalf("answer %q", got)
	}
	cl.c.Close()
	waitIdle(t, p)
	st, err := os.Stat(filepath.Join(dir, "off.log"))
	if err != nil {
		t.Fatalf("the stream level's access_log was not opened: %v", err)
	}
	if st.Size() != 0 {
		t.Errorf("off.log has %d bytes, want none: no server logs there", st.Size())
	}

	path := filepath.Join(dir, "f.conf")
	src := "events {}\nstream {\naccess_log " + dir + "/x.log;\nserver { listen 127.0.0.1:0; return x; access_log off; }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(path, config.LoadOptions{Prefix: dir})
	if err == nil || !strings.Contains(err.Error(), "log format is not specified") || !strings.Contains(err.Error(), "f.conf:3") {
		t.Errorf("stream-level access_log without a format: %v, want \"log format is not specified\" at f.conf:3", err)
	}
}

// TestProxyProtocol checks the PROXY protocol v1 line sent first.
func TestProxyProtocol(t *testing.T) {
	a := startEcho(t, "a")
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; proxy_protocol on; }", a.addr())))
	cl := dial(t, addr)
	if got := cl.ask(t, "x"); !strings.HasPrefix(got, "a PROXY TCP4 127.0.0.1 127.0.0.1 ") {
		t.Fatalf("first answer %q, want the PROXY line echoed", got)
	}
	local := cl.c.LocalAddr().(*net.TCPAddr)
	_, port, _ := net.SplitHostPort(addr)
	want := fmt.Sprintf("PROXY TCP4 127.0.0.1 127.0.0.1 %d %s\r\n", local.Port, port)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.first) != 1 || a.first[0] != want {
		t.Errorf("backend got %q, want %q", a.first, want)
	}
}

// TestIdleTimeout checks proxy_timeout: an idle session is closed, one
// with traffic in either direction is not.
//
// The busy client sends every 50 ms; a loaded machine may stall the whole
// process (the client's sleep included) for longer than proxy_timeout, and
// then the session was idle and ending it was right. So the client measures
// its own silences (from an answer to its next line, a lower bound of what
// the proxy saw), and only a session ended while they all stayed shorter
// than proxy_timeout fails the test.
func TestIdleTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	a := startEcho(t, "a")
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; proxy_timeout %dms; }", a.addr(), timeout.Milliseconds())))
	busy := dial(t, addr)
	idle := dial(t, addr)
	if busy.ask(t, "1") != "a 1" || idle.ask(t, "1") != "a 1" {
		t.Fatal("no answer")
	}
	began := time.Now()
	answered := began         // when the busy client's last answer came
	var longest time.Duration // the busy client's longest silence
	for time.Since(began) < 2*timeout {
		longest = max(longest, time.Since(answered))
		if got := busy.ask(t, "x"); got != "a x" {
			if longest < timeout {
				t.Fatalf("busy session ended after %v, its longest silence %v: %q", time.Since(began), longest, got)
			}
			t.Logf("the busy client was silent for %v (a stalled machine): its session was idle", longest)
			break
		}
		answered = time.Now()
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := idle.r.ReadString('\n'); err == nil {
		t.Fatal("idle session got data")
	}
	if since := time.Since(began); since > 5*time.Second {
		t.Errorf("idle session closed after %v", since)
	}
}

// TestReloadKeepsSessions checks Apply as a reload: a session started
// before it keeps its upstream, new sessions use the new configuration,
// and an address the new configuration drops stops accepting.
func TestReloadKeepsSessions(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	dir := t.TempDir()
	p := New(Options{})
	defer p.Close()
	addrs, err := p.Apply(load(t, dir, fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; }", a.addr())))
	if err != nil {
		t.Fatal(err)
	}
	addr := addrs[0].String()
	old := dial(t, addr)
	if got := old.ask(t, "1"); got != "a 1" {
		t.Fatalf("before reload %q", got)
	}
	// The same address (as configured: 127.0.0.1:0 is the key) now goes to b.
	if _, err := p.Apply(load(t, dir, fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; }", b.addr()))); err != nil {
		t.Fatal(err)
	}
	if got := dial(t, addr).ask(t, "2"); got != "b 2" {
		t.Errorf("new session after reload %q", got)
	}
	if got := old.ask(t, "3"); got != "a 3" {
		t.Errorf("old session after reload %q", got)
	}
	// A configuration without stream closes the listener; the old session stays.
	if _, err := p.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("dropped address still accepts")
	}
	if got := old.ask(t, "4"); got != "a 4" {
		t.Errorf("old session after its address closed %q", got)
	}
}

// TestShutdown checks that Shutdown waits for sessions and closes them at
// its deadline.
func TestShutdown(t *testing.T) {
	a := startEcho(t, "a")
	p := New(Options{})
	addrs, err := p.Apply(load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; }", a.addr())))
	if err != nil {
		t.Fatal(err)
	}
	ended := dial(t, addrs[0].String())
	held := dial(t, addrs[0].String())
	if ended.ask(t, "x") != "a x" || held.ask(t, "x") != "a x" {
		t.Fatal("no answer")
	}
	ended.c.Close()
	waitFor(t, "one session", func() bool { return p.Sessions() == 1 })
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	go func() { done <- p.Shutdown(ctx) }()
	if got := held.ask(t, "y"); got != "a y" {
		t.Errorf("session during shutdown %q", got)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Shutdown reported no session closed at the deadline")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	if got := held.ask(t, "z"); got != "EOF" {
		t.Errorf("session after the shutdown deadline %q", got)
	}
}

// TestTries checks proxy_next_upstream off and proxy_next_upstream_tries:
// a failed connect is not retried, or retried up to the limit.
func TestTries(t *testing.T) {
	b := startEcho(t, "b")
	d1, d2 := deadAddr(t), deadAddr(t)
	tests := []struct {
		name, extra, want string
	}{
		{"next upstream off", "proxy_next_upstream off;", "EOF"},
		{"two tries", "proxy_next_upstream_tries 2;", "EOF"},
		{"three tries", "proxy_next_upstream_tries 3;", "b x"},
		{"no limit", "", "b x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, t.TempDir(), fmt.Sprintf("upstream u { server %s; server %s; server %s; } server { listen 127.0.0.1:0; proxy_pass u; %s }", d1, d2, b.addr(), tt.extra))
			_, addr := start(t, cfg)
			if got := dial(t, addr).ask(t, "x"); got != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCheck checks that unknown variables fail the configuration test,
// with nginx's message.
func TestCheck(t *testing.T) {
	tests := []struct{ body, want string }{
		{`log_format f '$request_uri'; server { listen 127.0.0.1:0; proxy_pass 127.0.0.1:9; access_log /dev/null f; }`, `unknown "request_uri" variable`},
		{`upstream u { hash $uri; server 127.0.0.1:9; } server { listen 127.0.0.1:0; proxy_pass u; }`, `unknown "uri" variable`},
	}
	for _, tt := range tests {
		err := Check(load(t, t.TempDir(), tt.body))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Check = %v, want %q", err, tt.want)
		}
	}
}

// TestHashAsNginx checks that "hash $remote_addr" sends 127.0.0.1 to the
// server nginx 1.22.1 sent it to with the same five servers (the first).
func TestHashAsNginx(t *testing.T) {
	var servers []string
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5"} {
		servers = append(servers, "server "+startEcho(t, n).addr()+";")
	}
	_, addr := start(t, load(t, t.TempDir(), "upstream h { hash $remote_addr; "+strings.Join(servers, " ")+" } server { listen 127.0.0.1:0; proxy_pass h; }"))
	for i := 0; i < 3; i++ {
		if got := dial(t, addr).ask(t, "x"); got != "s1 x" {
			t.Errorf("session %d went to %q, want s1", i, got)
		}
	}
}

// TestDownloadRate checks proxy_download_rate with nginx's rule: a
// second's worth at once, then a second's worth each second.
func TestDownloadRate(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) { c.Write([]byte(strings.Repeat("d", 2500))) })
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; proxy_download_rate 1000; }", backend)))
	began := time.Now()
	cl := dial(t, addr)
	first := make([]byte, 2500)
	n, _ := io.ReadAtLeast(cl.c, first, 1)
	if n > 1000 {
		t.Errorf("first read %d bytes, want at most a second's worth (1000)", n)
	}
	rest, _ := io.ReadAll(cl.c)
	if got := n + len(rest); got != 2500 {
		t.Fatalf("got %d bytes, want 2500", got)
	}
	if took := time.Since(began); took < 1500*time.Millisecond {
		t.Errorf("2500 bytes at 1000 B/s took %v, want about 2s", took)
	}
}

// writeCert writes a self-signed certificate and key for localhost into
// dir as cert.pem and key.pem.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// TestTLSTermination checks listen ... ssl: a TLS client is proxied in
// plain text; a client that does not complete the handshake within
// ssl_handshake_timeout ends with $status 500, as in nginx 1.22.1.
func TestTLSTermination(t *testing.T) {
	a := startEcho(t, "a")
	dir := t.TempDir()
	writeCert(t, dir)
	p, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$status $bytes_received';
access_log %%DIR%%/s.log f;
ssl_certificate %%DIR%%/cert.pem;
ssl_certificate_key %%DIR%%/key.pem;
ssl_handshake_timeout 200ms;
server { listen 127.0.0.1:0 ssl; proxy_pass %s; }`, a.addr())))
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{c: c, r: bufio.NewReader(c)}
	if got := cl.ask(t, "x"); got != "a x" {
		t.Errorf("TLS session answered %q", got)
	}
	c.Close()
	plain := dial(t, addr)
	if got := plain.ask(t, "not tls"); got != "EOF" {
		t.Errorf("plain session answered %q", got)
	}
	path := filepath.Join(dir, "s.log")
	waitFor(t, "two log lines", func() bool { return strings.Count(readFile(t, path), "\n") == 2 && p.Sessions() == 0 })
	if got := readFile(t, path); !strings.Contains(got, "200 2\n") || !strings.Contains(got, "500 0\n") {
		t.Errorf("log %q, want a 200 and a 500 line", got)
	}
}

// TestLogs checks a server's own error_log, and that Reopen moves the
// access log to a new file after it was renamed (logrotate's way).
func TestLogs(t *testing.T) {
	dir := t.TempDir()
	a := startEcho(t, "a")
	p, addrs := New(Options{}), []string{}
	defer p.Close()
	bound, err := p.Apply(load(t, dir, fmt.Sprintf(`
log_format f '$status';
server { listen 127.0.0.1:0; proxy_pass %s; access_log %%DIR%%/s.log f; }
server { listen 127.0.0.1:0; proxy_pass %s; error_log %%DIR%%/err.log warn; }`, a.addr(), deadAddr(t))))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bound {
		addrs = append(addrs, b.String())
	}
	dial(t, addrs[1]).ask(t, "x")
	waitFor(t, "the error log", func() bool {
		return strings.Contains(readFile(t, filepath.Join(dir, "err.log")), "connect() failed (111: Connection refused) while connecting to upstream")
	})
	cl := dial(t, addrs[0])
	cl.ask(t, "x")
	cl.c.Close()
	logPath := filepath.Join(dir, "s.log")
	waitFor(t, "the first line", func() bool { return readFile(t, logPath) == "200\n" })
	if err := os.Rename(logPath, logPath+".1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Reopen(); err != nil {
		t.Fatal(err)
	}
	cl = dial(t, addrs[0])
	cl.ask(t, "x")
	cl.c.Close()
	waitFor(t, "a line in the new file", func() bool { return readFile(t, logPath) == "200\n" })
	if got := readFile(t, logPath+".1"); got != "200\n" {
		t.Errorf("rotated file %q", got)
	}
}

// TestBind checks proxy_bind: the upstream sees the configured source.
func TestBind(t *testing.T) {
	up := testutil.RawBackend(t, func(c net.Conn) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		io.WriteString(c, host+"\n")
	})
	_, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; proxy_bind 127.0.0.2; }", up)))
	if got := dial(t, addr).ask(t, "x"); got != "127.0.0.2" {
		t.Errorf("upstream saw %q, want 127.0.0.2", got)
	}
}

// TestSlots checks the worker_connections cap: a connection past it waits
// in the backlog until a session ends.
func TestSlots(t *testing.T) {
	a := startEcho(t, "a")
	p := New(Options{Slots: make(chan struct{}, 1)})
	defer p.Close()
	addrs, err := p.Apply(load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0; proxy_pass %s; }", a.addr())))
	if err != nil {
		t.Fatal(err)
	}
	first := dial(t, addrs[0].String())
	if got := first.ask(t, "1"); got != "a 1" {
		t.Fatalf("first session %q", got)
	}
	second := dial(t, addrs[0].String())
	io.WriteString(second.c, "2\n")
	_ = second.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := second.r.ReadString('\n'); err == nil {
		t.Fatal("a session past the cap was served")
	}
	first.c.Close()
	_ = second.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := second.r.ReadString('\n'); err != nil || got != "a 2\n" {
		t.Errorf("second session after the first ended: %q, %v", got, err)
	}
}

// startUDPEcho starts a UDP backend that answers each datagram with
// "NAME DATAGRAM", and a second answer "NAME again" to "two".
func startUDPEcho(t *testing.T, name string) string {
	t.Helper()
	return testutil.UDPBackend(t, func(d []byte) [][]byte {
		answers := [][]byte{[]byte(name + " " + string(d))}
		if string(d) == "two" {
			answers = append(answers, []byte(name+" again"))
		}
		return answers
	})
}

// TestUDP checks listen ... udp: a client's datagrams are one session
// with datagram boundaries kept, proxy_responses ends it once the answers
// came, and $protocol is UDP, as nginx 1.22.1 logs it.
func TestUDP(t *testing.T) {
	up := startUDPEcho(t, "u")
	dir := t.TempDir()
	p, addr := start(t, load(t, dir, fmt.Sprintf(`
log_format f '$protocol|$status|$bytes_received|$bytes_sent|$upstream_bytes_sent|$upstream_bytes_received';
access_log %%DIR%%/s.log f;
server { listen 127.0.0.1:0 udp; proxy_pass %s; proxy_responses 1; proxy_timeout 5s; }`, up)))
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	for _, m := range []string{"hello", "x"} {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "u "+m {
			t.Fatalf("answer to %q: %q, %v", m, buf[:n], err)
		}
		// The answer ends the session (proxy_responses 1); the next
		// datagram, once it ended, starts another.
		waitFor(t, "the session to end", func() bool { return p.Sessions() == 0 })
	}
	path := filepath.Join(dir, "s.log")
	waitFor(t, "two sessions logged", func() bool { return strings.Count(readFile(t, path), "\n") == 2 })
	if got := readFile(t, path); got != "UDP|200|5|7|5|7\nUDP|200|1|3|1|3\n" {
		t.Errorf("log %q", got)
	}
}

// TestUDPIdle checks that without proxy_responses a UDP session lasts
// until proxy_timeout, taking every answer.
func TestUDPIdle(t *testing.T) {
	up := startUDPEcho(t, "u")
	p, addr := start(t, load(t, t.TempDir(), fmt.Sprintf("server { listen 127.0.0.1:0 udp; proxy_pass %s; proxy_timeout 300ms; }", up)))
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("two"))
	buf := make([]byte, 100)
	var got []string
	for i := 0; i < 2; i++ {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	if strings.Join(got, "|") != "u two|u again" {
		t.Errorf("answers %q", got)
	}
	waitFor(t, "the idle session to end", func() bool { return p.Sessions() == 0 })
}

// startEchoAt starts echo backends named after their address on each of
// ips, all on one port (a name's addresses share its server line's port).
func startEchoAt(t *testing.T, ips ...string) string {
	t.Helper()
	for attempt := 0; attempt < 20; attempt++ {
		first, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Addr().String())
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) < len(ips) {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		for i, ln := range lns {
			b := &echoBackend{name: ips[i], ln: ln}
			testutil.Serve(t, ln, b.serve)
		}
		return port
	}
	t.Fatal("no port free on every address")
	return ""
}

// TestUpstreamResolve: a stream upstream server written as a name with
// resolve follows the name's addresses in DNS (a server the test runs),
// without a reload; a reload stops the old configuration's watcher.
func TestUpstreamResolve(t *testing.T) {
	dns := testutil.StartDNSServer(t)
	dns.Set("db.test", "127.0.0.2")
	port := startEchoAt(t, "127.0.0.2", "127.0.0.3")
	cfg := load(t, t.TempDir(), fmt.Sprintf(`resolver %s valid=1s ipv6=off;
upstream u { zone u 64k; server db.test:%s resolve; }
server { listen 127.0.0.1:0; proxy_pass u; }`, dns.Addr, port))
	p, addr := start(t, cfg)
	answers := func() map[string]int {
		seen := map[string]int{}
		for range 4 {
			seen[dial(t, addr).ask(t, "x")]++
		}
		return seen
	}
	waitFor(t, "the first address", func() bool { return answers()["127.0.0.2 x"] == 4 })
	dns.Set("db.test", "127.0.0.2", "127.0.0.3")
	waitFor(t, "the second address", func() bool { m := answers(); return m["127.0.0.2 x"] == 2 && m["127.0.0.3 x"] == 2 })
	dns.Set("db.test", "127.0.0.3")
	waitFor(t, "the first address gone", func() bool { return answers()["127.0.0.3 x"] == 4 })

	// A reload stops the old watcher: the DNS server is asked only by the
	// new one, which has valid=1h.
	cfg2 := load(t, t.TempDir(), fmt.Sprintf(`resolver %s valid=1h ipv6=off;
upstream u { zone u 64k; server db.test:%s resolve; }
server { listen 127.0.0.1:0; proxy_pass u; }`, dns.Addr, port))
	before := dns.Queries()
	if _, err := p.Apply(cfg2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new watcher's first lookup", func() bool { return dns.Queries() > before })
	time.Sleep(200 * time.Millisecond) // the first lookup's answer handled
	n := dns.Queries()
	time.Sleep(2500 * time.Millisecond) // over two of the old watcher's intervals
	if got := dns.Queries(); got != n {
		t.Errorf("the DNS server was asked %d more times after the reload: the old watcher still runs", got-n)
	}
}

// TestAccess checks allow and deny as nginx 1.22.1's stream access module
// answered the same configuration: a refused client's connection closes
// with nothing proxied, $status 403 and nginx's error line; the rules of
// the nearest level apply, in order, the first match deciding.
func TestAccess(t *testing.T) {
	a := startEcho(t, "a")
	tests := []struct {
		name, rules string
		allowed     bool
	}{
		{"deny the client", "deny 127.0.0.1;", false},
		{"allow the client, deny all", "allow 127.0.0.0/8; deny all;", true},
		{"deny all first", "deny all; allow 127.0.0.1;", false},
		{"no rule matches", "deny 10.0.0.0/8;", true},
		{"IPv6 rule, IPv4 client", "deny ::1;", true},
		{"inherited from stream", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			top := ""
			if tt.rules == "" {
				top = "deny all;"
			}
			cfg := load(t, dir, fmt.Sprintf(`log_format f '$remote_addr $status';
%s
server { listen 127.0.0.1:0; %s proxy_pass %s; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, top, tt.rules, a.addr()))
			_, addr := start(t, cfg)
			cl := dial(t, addr)
			got := cl.ask(t, "x")
			cl.c.Close() // the session ends: its log line is written
			want, status := "a x", "127.0.0.1 200\n"
			if !tt.allowed {
				want, status = "EOF", "127.0.0.1 403\n"
			}
			if got != want {
				t.Fatalf("answer %q, want %q", got, want)
			}
			waitFor(t, "the access log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == status })
			const line = "access forbidden by rule while initializing session, client: 127.0.0.1, server: 127.0.0.1:"
			if logged := strings.Contains(readFile(t, filepath.Join(dir, "err.log")), line); logged == tt.allowed {
				t.Errorf("error log has the forbidden line: %v, want %v", logged, !tt.allowed)
			}
		})
	}
}

// TestReturn checks return as nginx 1.22.1 answered the same servers: the
// value, with variables, goes to the client and the session ends with
// $status 200, nothing read; of proxy_pass and return the one written
// last is the server's handler.
func TestReturn(t *testing.T) {
	a := startEcho(t, "a")
	tests := []struct {
		name, body, want string
		log              string // $status $bytes_sent $bytes_received
	}{
		{"value with variables", `return "from $remote_addr\n";`, "from 127.0.0.1\n", "200 15 0\n"},
		{"return after proxy_pass", fmt.Sprintf(`proxy_pass %s; return "both\n";`, a.addr()), "both\n", "200 5 0\n"},
		{"proxy_pass after return", fmt.Sprintf(`return "x"; proxy_pass %s;`, a.addr()), "a hi\n", "200 5 3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := load(t, dir, fmt.Sprintf(`log_format f '$status $bytes_sent $bytes_received';
server { listen 127.0.0.1:0; %s access_log %%DIR%%/s.log f; }`, tt.body))
			_, addr := start(t, cfg)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			var got []byte
			if strings.HasPrefix(tt.want, "a ") { // proxied: an exchange, then our close
				io.WriteString(c, "hi\n")
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				got = []byte(line)
				c.Close()
			} else if got, err = io.ReadAll(c); err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
			waitFor(t, "the log line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == tt.log })
		})
	}
}

// TestLimitConn checks limit_conn as nginx 1.22.1's stream module answered
// the same configuration: with one session per address open, the next is
// closed with $status 503 and nginx's line; once the first ends, a new one
// goes through; with limit_conn_dry_run the line says so and the session
// is proxied; a reload keeping the zone keeps the count.
func TestLimitConn(t *testing.T) {
	a := startEcho(t, "a")
	for _, tt := range []struct {
		name string
		dry  bool
	}{{"limited", false}, {"dry run", true}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dry := ""
			if tt.dry {
				dry = "limit_conn_dry_run on;"
			}
			conf := fmt.Sprintf(`log_format f '$status';
limit_conn_zone $binary_remote_addr zone=addr:1m;
server { listen 127.0.0.1:0; limit_conn addr 1; %s proxy_pass %s; access_log %%DIR%%/s.log f; error_log %%DIR%%/err.log info; }`, dry, a.addr())
			p, addr := start(t, load(t, dir, conf))
			first := dial(t, addr)
			if got := first.ask(t, "x"); got != "a x" {
				t.Fatalf("first session: %q", got)
			}
			// A reload that keeps the zone keeps the first session's count.
			if _, err := p.Apply(load(t, dir, conf)); err != nil {
				t.Fatal(err)
			}
			second := dial(t, addr)
			want, line := "EOF", `limiting connections by zone "addr" while initializing session, client: 127.0.0.1, server: 127.0.0.1:`
			if tt.dry {
				want, line = "a x", `limiting connections, dry run, by zone "addr" while initializing session`
			}
			if got := second.ask(t, "x"); got != want {
				t.Fatalf("second session: %q, want %q", got, want)
			}
			waitFor(t, "the error line", func() bool { return strings.Contains(readFile(t, filepath.Join(dir, "err.log")), line) })
			if !tt.dry {
				// The refused session's line is written once fulcrum has
				// closed it, which the client may see first: wait for it
				// before ending the first session, whose line follows.
				waitFor(t, "the 503 line", func() bool { return readFile(t, filepath.Join(dir, "s.log")) == "503\n" })
			}
			second.c.Close()
			first.c.Close()
			wantLog := "503\n200\n"
			if tt.dry {
				wantLog = "200\n200\n"
			}
			waitFor(t, "both log lines", func() bool { return len(readFile(t, filepath.Join(dir, "s.log"))) == len(wantLog) })
			if got := readFile(t, filepath.Join(dir, "s.log")); !tt.dry && got != wantLog {
				t.Errorf("access log %q, want %q", got, wantLog)
			}
			// The count went back with the first session: a new one passes.
			third := dial(t, addr)
			if got := third.ask(t, "x"); got != "a x" {
				t.Errorf("after the first ended: %q", got)
			}
		})
	}
}

// TestListenFamily checks that a listen on the IPv4 wildcard takes IPv4
// clients only, TCP and UDP alike, as nginx binds "listen PORT"
// (0.0.0.0); Go's "tcp" and "udp" would make dual-stack sockets on [::]
// that IPv6 clients reach too. ([::] listens become IPv6-only sockets the
// same way, as nginx's ipv6only=on.)
func TestListenFamily(t *testing.T) {
	dir := t.TempDir()
	p := New(Options{})
	addrs, err := p.Apply(load(t, dir, `server { listen 0.0.0.0:0; return ok; }
server { listen 0.0.0.0:0 udp; return ok; }`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	for i, a := range addrs {
		if !strings.HasPrefix(a.String(), "0.0.0.0:") {
			t.Errorf("listen %d bound %s, want 0.0.0.0:PORT (IPv4 only)", i, a)
		}
	}
	// The socket does not take an IPv6 client (when the machine has IPv6
	// at all, this dial reaches a dual-stack socket).
	_, port, _ := net.SplitHostPort(addrs[0].String())
	if c, err := net.DialTimeout("tcp6", "[::1]:"+port, time.Second); err == nil {
		c.Close()
		t.Errorf("an IPv6 client reached the IPv4 listen on port %s", port)
	}
}

// TestConnectUnixMissing: a unix socket upstream whose file is missing is
// logged as nginx 1.22.1 logs it (recorded): at crit, naming the socket,
// with the upstream as configured.
func TestConnectUnixMissing(t *testing.T) {
	dir := t.TempDir()
	p := New(Options{})
	defer p.Close()
	bound, err := p.Apply(load(t, dir, `
server { listen 127.0.0.1:0; proxy_pass unix:%DIR%/none.sock; error_log %DIR%/err.log info; }`))
	if err != nil {
		t.Fatal(err)
	}
	dial(t, bound[0].String()).ask(t, "x")
	sock := filepath.Join(dir, "none.sock")
	want := `connect() to unix:` + sock + ` failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: ` + bound[0].String() + `, upstream: "unix:` + sock + `", bytes from/to client:0/0, bytes from/to upstream:0/0`
	waitFor(t, "the error log line "+want+" at crit", func() bool {
		for _, l := range strings.Split(readFile(t, filepath.Join(dir, "err.log")), "\n") {
			// "DATE TIME [crit] PID#0: *N " and the message
			if _, rest, ok := strings.Cut(l, " [crit] "); ok && strings.HasSuffix(rest, want) {
				return true
			}
		}
		return false
	})
}

// TestAccessLogPathVariables checks an access_log whose path has
// variables, as nginx 1.22.1 writes it (recorded): each session's line goes
// to the file its variables name (the file was named "$server_port.log"
// before); a file that cannot be opened is logged at crit with the
// session's action and no line is written; buffer= is refused.
func TestAccessLogPathVariables(t *testing.T) {
	dir := t.TempDir()
	p := New(Options{})
	defer p.Close()
	bound, err := p.Apply(load(t, dir, `
log_format f '$remote_addr $status';
error_log %DIR%/err.log info;
server { listen 127.0.0.1:0; return "x"; access_log %DIR%/p$server_port.log f; }
server { listen 127.0.0.1:0; return "y"; access_log %DIR%/missing/$server_port.log f; }`))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"x", "y"} {
		c, err := net.Dial("tcp", bound[i].String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != want {
			t.Fatalf("server %d answered %q, want %q", i, got, want)
		}
	}
	_, port, _ := net.SplitHostPort(bound[0].String())
	logPath := filepath.Join(dir, "p"+port+".log")
	waitFor(t, "the line in "+logPath, func() bool { return readFile(t, logPath) == "127.0.0.1 200\n" })
	_, port2, _ := net.SplitHostPort(bound[1].String())
	want := "[crit] "
	line := fmt.Sprintf(`open() "%s/missing/%s.log" failed (2: No such file or directory) while returning text, client: 127.0.0.1, server: %s`+"\n", dir, port2, bound[1])
	waitFor(t, "the crit line", func() bool {
		log := readFile(t, filepath.Join(dir, "err.log"))
		return strings.Contains(log, want) && strings.Contains(log, line)
	})

	path := filepath.Join(dir, "b.conf")
	src := "events {}\nstream {\nlog_format f '$status';\nserver { listen 127.0.0.1:0; return x;\naccess_log " + dir + "/$server_port.log f buffer=4k; }\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.LoadOptions{Prefix: dir})
	if err == nil {
		_, err = New(Options{}).Apply(cfg.Stream)
	}
	if err == nil || !strings.Contains(err.Error(), "buffered logs cannot have variables in name in "+path+":5") {
		t.Errorf("buffer= with variables: %v, want nginx's error at line 5", err)
	}
}

// TestUDPRequestsSplitBurst: datagrams a client sends at once under
// proxy_requests 2 are sessions of two datagrams each (the last one of
// one), each answered (here 21 datagrams: ten sessions of two and one of
// one), as nginx 1.22.1 binds them as its listener reads
// them (recorded with nginx-tests' stream_udp_proxy_requests.t "slow
// backend": five datagrams, three sessions, 2 + 2 + 1, all answered);
// fulcrum queued all five for the first session, which passed on two and
// dropped the rest.
func TestUDPRequestsSplitBurst(t *testing.T) {
	up, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { up.Close() })
	go func() { // answers each datagram with the port it came from
		buf := make([]byte, 100)
		for {
			_, from, err := up.ReadFrom(buf)
			if err != nil {
				return
			}
			up.WriteTo([]byte(strconv.Itoa(from.(*net.UDPAddr).Port)), from)
		}
	}()
	dir := t.TempDir()
	_, addr := start(t, load(t, dir, fmt.Sprintf(`
server { listen 127.0.0.1:0 udp; proxy_pass %s; proxy_requests 2; proxy_responses 1; proxy_timeout 5s; }`, up.LocalAddr())))
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	const sent = 21
	for range sent {
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	perPort := map[string]int{}
	buf := make([]byte, 100)
	for i := range sent {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("answer %d: %v (got %v)", i+1, err, perPort)
		}
		perPort[string(buf[:n])]++
	}
	var counts []int
	for _, n := range perPort {
		counts = append(counts, n)
	}
	sort.Ints(counts)
	if want := "[1 2 2 2 2 2 2 2 2 2 2]"; fmt.Sprint(counts) != want {
		t.Errorf("datagrams per upstream session %v, want %s", counts, want)
	}
}

// TestRateWithVariables: proxy_download_rate and proxy_upload_rate take
// variables, evaluated once per session as nginx 1.22.1 does (nginx-tests'
// stream_limit_rate2.t, which fulcrum refused at load); a value that is no
// size is no limit, with nginx's line (recorded: `invalid size "abc" while
// connecting to upstream, client: ...` at error, upload's first).
func TestRateWithVariables(t *testing.T) {
	backend := testutil.RawBackend(t, func(c net.Conn) { c.Write([]byte(strings.Repeat("d", 2500))) })
	tests := []struct {
		name, value string
		paced       bool
		lines       []string // in order
	}{
		{"a size from a map", "$down", true, []string{`invalid size "x1000"`}},
		{"not a size", "x$down", false, []string{`invalid size "xx1000"`, `invalid size "x1000"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, addr := start(t, load(t, dir, fmt.Sprintf(`map $server_port $down { default 1000; }
server { listen 127.0.0.1:0; proxy_pass %s; proxy_download_rate %s; proxy_upload_rate x%s; error_log %%DIR%%/err.log; }`, backend, tt.value, tt.value)))
			cl := dial(t, addr)
			first := make([]byte, 2500)
			n, _ := io.ReadAtLeast(cl.c, first, 1)
			rest, _ := io.ReadAll(cl.c)
			if got := n + len(rest); got != 2500 {
				t.Fatalf("got %d bytes, want 2500", got)
			}
			if tt.paced && n > 1000 {
				t.Errorf("first read %d bytes, want at most a second's worth of $down (1000)", n)
			}
			path := filepath.Join(dir, "err.log")
			last := tt.lines[len(tt.lines)-1]
			waitFor(t, "the rates' lines", func() bool { return strings.Contains(readFile(t, path), last) })
			log, at := readFile(t, path), -1
			for _, want := range tt.lines {
				i := strings.Index(log, want+" while connecting to upstream, client: 127.0.0.1")
				if i < at || !strings.Contains(lineWith(log, want), "[error] ") {
					t.Errorf("log %q, want the lines %q in order, at error", log, tt.lines)
				}
				at = i
			}
		})
	}
}

// TestBindTransparent checks "proxy_bind ADDR transparent": the upstream
// connection binds with IP_TRANSPARENT, as nginx 1.22.1's (recorded with
// the http module's: an address the host does not have binds, and the
// connect then times out; without the parameter the bind fails). It needs
// CAP_NET_ADMIN: as another user the test skips.
func TestBindTransparent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("IP_TRANSPARENT needs CAP_NET_ADMIN")
	}
	up := testutil.RawBackend(t, func(c net.Conn) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		io.WriteString(c, host+"\n")
	})
	dir := t.TempDir()
	p := New(Options{})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, dir, fmt.Sprintf(`
server { listen 127.0.0.1:0; proxy_pass %[1]s; proxy_bind 127.0.0.2 transparent; }
server { listen 127.0.0.1:0; proxy_pass %[1]s; proxy_bind 192.0.2.1 transparent; proxy_connect_timeout 300ms; error_log %%DIR%%/err.log; }`, up)))
	if err != nil {
		t.Fatal(err)
	}
	if got := dial(t, addrs[0].String()).ask(t, "x"); got != "127.0.0.2" {
		t.Errorf("upstream saw %q, want 127.0.0.2", got)
	}
	// A foreign address binds: the connect, not the bind, fails.
	c := dial(t, addrs[1].String())
	c.c.Write([]byte("x\n"))
	path := filepath.Join(dir, "err.log")
	waitFor(t, "the connect's timeout", func() bool {
		return strings.Contains(readFile(t, path), "upstream timed out (110: Connection timed out) while connecting to upstream")
	})
	if l := readFile(t, path); strings.Contains(l, "bind(") {
		t.Errorf("log %q: the bind failed", l)
	}
}
