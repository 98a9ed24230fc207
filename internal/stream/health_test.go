package stream

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// healthOf returns the health state of each server of upstream name, by
// address.
func healthOf(p *Proxy, name string) map[string]upstream.HealthState {
	out := map[string]upstream.HealthState{}
	for _, u := range p.Upstreams(time.Now()) {
		if u.Name != name {
			continue
		}
		for _, s := range u.Servers {
			out[s.Addr] = s.Health
		}
	}
	return out
}

// waitHealth polls until the server addr of upstream name is in state want.
func waitHealth(t *testing.T, p *Proxy, name, addr string, want upstream.HealthState) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to be %q", addr, want), func() bool { return healthOf(p, name)[addr] == want })
}

// requestsOf returns the connections the server addr of upstream name
// was sent.
func requestsOf(p *Proxy, name, addr string) int64 {
	for _, u := range p.Upstreams(time.Now()) {
		for _, s := range u.Servers {
			if u.Name == name && s.Addr == addr {
				return s.Requests
			}
		}
	}
	return -1
}

// answers opens n sessions and returns their answers to "x".
func answers(t *testing.T, addr string, n int) []string {
	t.Helper()
	var got []string
	for range n {
		got = append(got, dial(t, addr).ask(t, "x"))
	}
	return got
}

// TestHealthCheckTCP: a server whose listener closes fails its connect
// checks and, after fails=, is skipped (no connection is even tried);
// listening again on its port, it is used again after passes=.
func TestHealthCheckTCP(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	aAddr := a.addr()
	p, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(`
upstream u { zone u 64k; server %s; server %s; }
server { listen 127.0.0.1:0; proxy_pass u; health_check interval=50ms fails=2 passes=2; }`, aAddr, b.addr())))
	waitHealth(t, p, "u", aAddr, upstream.HealthHealthy)
	if got := strings.Join(answers(t, addr, 2), "|"); got != "a x|b x" {
		t.Fatalf("answers before %q", got)
	}
	a.ln.Close()
	waitHealth(t, p, "u", aAddr, upstream.HealthUnhealthy)
	before := requestsOf(p, "u", aAddr)
	if got := strings.Join(answers(t, addr, 4), "|"); got != "b x|b x|b x|b x" {
		t.Errorf("answers while a is down %q", got)
	}
	if n := requestsOf(p, "u", aAddr); n != before {
		t.Errorf("the unhealthy server was tried %d times", n-before)
	}
	ln, err := net.Listen("tcp", aAddr)
	if err != nil {
		t.Skipf("%s was taken meanwhile: %v", aAddr, err)
	}
	back := &echoBackend{name: "a2", ln: ln}
	testutil.Serve(t, ln, back.serve)
	waitHealth(t, p, "u", aAddr, upstream.HealthHealthy)
	got := strings.Join(answers(t, addr, 2), "|")
	if got != "a2 x|b x" && got != "b x|a2 x" {
		t.Errorf("answers after a is back %q", got)
	}
}

// TestHealthCheckMatch: a match block's send and expect (a regex) pass
// the server that answers right and fail the one that answers wrong.
func TestHealthCheckMatch(t *testing.T) {
	good, bad := startEcho(t, "ok"), startEcho(t, "no")
	p, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(`
match hello { send "PING\n"; expect ~ "^ok PING"; }
upstream u { zone u 64k; server %s; server %s; }
server { listen 127.0.0.1:0; proxy_pass u; health_check interval=50ms match=hello; health_check_timeout 300ms; }`, good.addr(), bad.addr())))
	waitHealth(t, p, "u", bad.addr(), upstream.HealthUnhealthy)
	waitHealth(t, p, "u", good.addr(), upstream.HealthHealthy)
	if got := strings.Join(answers(t, addr, 3), "|"); got != "ok x|ok x|ok x" {
		t.Errorf("answers %q", got)
	}
}

// TestHealthCheckUDP: a udp check with a match block's send and expect
// (a literal with a \x escape) against UDP echo servers, and a UDP check
// without match on a port where nothing listens (ICMP port unreachable).
func TestHealthCheckUDP(t *testing.T) {
	good, bad := startUDPEcho(t, "good"), startUDPEcho(t, "bad")
	dead := deadUDP(t)
	p, addr := start(t, load(t, t.TempDir(), fmt.Sprintf(`
match dns { send "\x01ping"; expect "good \x01ping"; }
upstream u { zone u 64k; server %s; server %s; }
upstream d { zone d 64k; server %s; }
server { listen 127.0.0.1:0 udp; proxy_pass u; proxy_responses 1; health_check udp interval=50ms match=dns; health_check_timeout 500ms; }
server { listen 127.0.0.1:0 udp; proxy_pass d; health_check udp interval=50ms; health_check_timeout 500ms; }`, good, bad, dead)))
	waitHealth(t, p, "u", bad, upstream.HealthUnhealthy)
	waitHealth(t, p, "u", good, upstream.HealthHealthy)
	waitHealth(t, p, "d", dead, upstream.HealthUnhealthy)
	for range 3 {
		c, err := net.Dial("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 100)
		_, _ = c.Write([]byte("q"))
		n, err := c.Read(buf)
		c.Close()
		if err != nil || string(buf[:n]) != "good q" {
			t.Fatalf("answer %q, %v", buf[:n], err)
		}
	}
}

// deadUDP returns a UDP address nothing listens on.
func deadUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := pc.LocalAddr().String()
	pc.Close()
	return a
}

// TestHealthCheckMandatory: with mandatory, a server is "checking", and
// not used, until its first check ends; with persistent, a reload keeps a
// healthy server healthy instead of checking it again first.
func TestHealthCheckMandatory(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0") // connects, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	b := startEcho(t, "b")
	cfg := load(t, t.TempDir(), fmt.Sprintf(`
match m { send "hi\n"; expect "b hi"; }
upstream u { zone u 64k; server %s; server %s; }
server { listen 127.0.0.1:0; proxy_pass u; health_check interval=50ms match=m mandatory persistent; health_check_timeout 3s; }`,
		silent.Addr(), b.addr()))
	p, addr := start(t, cfg)
	if got := healthOf(p, "u")[silent.Addr().String()]; got != upstream.HealthChecking {
		t.Fatalf("the silent server starts %q, want checking", got)
	}
	waitHealth(t, p, "u", b.addr(), upstream.HealthHealthy)
	if got := strings.Join(answers(t, addr, 3), "|"); got != "b x|b x|b x" {
		t.Errorf("answers while the other server is checking %q", got)
	}
	if _, err := p.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := healthOf(p, "u")[b.addr()]; got != upstream.HealthHealthy {
		t.Errorf("after a reload the healthy server is %q (persistent keeps it up)", got)
	}
	if got := healthOf(p, "u")[silent.Addr().String()]; got != upstream.HealthChecking {
		t.Errorf("after a reload the silent server is %q, want checking", got)
	}
}
