package health

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fulcrum/internal/config"
	"fulcrum/internal/pcre"
	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// flipBackend answers 200 while healthy is set, else 503, and records the
// last check request it saw.
type flipBackend struct {
	healthy atomic.Bool
	mu      sync.Mutex
	last    *http.Request // guarded by mu
	addr    string
}

func newFlipBackend(t *testing.T) *flipBackend {
	b := &flipBackend{}
	b.healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last = r
		b.mu.Unlock()
		if !b.healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	b.addr = srv.Listener.Addr().String()
	return b
}

func (b *flipBackend) lastRequest() *http.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func newPool(t *testing.T, addrs ...string) *upstream.Pool {
	t.Helper()
	var sets []upstream.Settings
	for _, a := range addrs {
		sets = append(sets, upstream.NewSettings(upstream.NetworkTCP, a))
	}
	p, err := upstream.NewPool("backend", sets)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCheck(p *upstream.Pool) *Check {
	return &Check{Key: "c", Pool: p, Interval: 20 * time.Millisecond, URI: "/", Host: "backend",
		ConnectTimeout: time.Second, SendTimeout: time.Second, ReadTimeout: time.Second}
}

// waitHealth polls s's health until it is want or the deadline passes.
func waitHealth(t *testing.T, s *upstream.Server, want upstream.HealthState) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := s.Health()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: health %v, want %v", s.Name(), got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunFlips: a running check takes a failing backend out and brings it
// back, and the other backend is never touched.
func TestRunFlips(t *testing.T) {
	a, b := newFlipBackend(t), newFlipBackend(t)
	p := newPool(t, a.addr, b.addr)
	c := newCheck(p)
	c.Policy = upstream.CheckPolicy{Fails: 2, Passes: 2}
	var changes atomic.Int32
	c.OnChange = func(*upstream.Server, upstream.HealthChange, error) { changes.Add(1) }
	g := NewGroup([]*upstream.Pool{p}, []*Check{c})
	g.Start()
	defer g.Stop()
	sa, sb := p.Server(false, 0), p.Server(false, 1)
	waitHealth(t, sa, upstream.HealthHealthy)
	a.healthy.Store(false)
	waitHealth(t, sa, upstream.HealthUnhealthy)
	if got, _ := sb.Health(); got != upstream.HealthHealthy {
		t.Fatalf("other server %v", got)
	}
	a.healthy.Store(true)
	waitHealth(t, sa, upstream.HealthHealthy)
	if _, n := sa.Health(); n.Unhealthy != 1 || n.Fails < 2 || !n.LastPassed {
		t.Errorf("counters %+v", n)
	}
	if changes.Load() != 2 {
		t.Errorf("%d verdict changes reported, want 2", changes.Load())
	}
}

// TestProbeRequest: the check is "GET uri" with the Host and extra header
// fields, to port= when set.
func TestProbeRequest(t *testing.T) {
	b := newFlipBackend(t)
	_, port, _ := net.SplitHostPort(b.addr)
	p := newPool(t, "127.0.0.1:1") // port= sends the check elsewhere
	c := newCheck(p)
	c.URI, c.Host = "/status?full=1", "app.example"
	c.Header = [][2]string{{"X-Check", "yes"}}
	c.Port, _ = strconv.Atoi(port)
	if err := c.Probe(context.Background(), p.Server(false, 0)); err != nil {
		t.Fatal(err)
	}
	r := b.lastRequest()
	if r.Method != "GET" || r.RequestURI != "/status?full=1" || r.Host != "app.example" || r.Header.Get("X-Check") != "yes" || r.Proto != "HTTP/1.1" {
		t.Errorf("check request %s %s %s host=%q x-check=%q", r.Method, r.RequestURI, r.Proto, r.Host, r.Header.Get("X-Check"))
	}
}

// TestProbeFailures: the ways a check fails.
func TestProbeFailures(t *testing.T) {
	silent := rawServer(t, func(c net.Conn) { time.Sleep(2 * time.Second) })
	garbage := rawServer(t, func(c net.Conn) { c.Write([]byte("not http\r\n\r\n")) })
	closed := func() string { // a port nothing listens on
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		a := ln.Addr().String()
		ln.Close()
		return a
	}()
	welcome := newFlipBackend(t) // answers "ok"
	tests := []struct {
		name  string
		addr  string
		match *config.Match
		want  error
		// msg is the failure's words: nginx's for the same failure of a
		// proxied request, as NGINX Plus's health checks log them.
		msg string
	}{
		{"connection refused", closed, nil, nil, "connect() failed (111: Connection refused) while connecting to upstream"},
		{"read timeout", silent, nil, nil, "upstream timed out (110: Connection timed out) while reading response header from upstream"},
		{"not HTTP", garbage, nil, nil, "upstream sent no valid HTTP/1.0 header while reading response header from upstream"},
		{"body does not match", welcome.addr, &config.Match{Tests: []config.MatchTest{{Kind: config.MatchBody, Regex: pcre.MustCompile("Welcome", false)}}}, ErrMatch, "response does not match: status 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPool(t, tt.addr)
			c := newCheck(p)
			c.ReadTimeout, c.Match = 100*time.Millisecond, tt.match
			start := time.Now()
			err := c.Probe(context.Background(), p.Server(false, 0))
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Probe = %v, want a failure (%v)", err, tt.want)
			}
			if err.Error() != tt.msg {
				t.Errorf("Probe failed with %q, want %q", err, tt.msg)
			}
			if time.Since(start) > time.Second {
				t.Errorf("took %v: the read timeout was not applied", time.Since(start))
			}
		})
	}
}

// TestMandatory: servers start checking (unusable) until their first check.
func TestMandatory(t *testing.T) {
	a := newFlipBackend(t)
	a.healthy.Store(false)
	p := newPool(t, a.addr)
	c := newCheck(p)
	c.Policy = upstream.CheckPolicy{Mandatory: true}
	g := NewGroup([]*upstream.Pool{p}, []*Check{c})
	g.Stop() // a stopped group never starts
	g.Start()
	if got, _ := p.Server(false, 0).Health(); got != upstream.HealthUnchecked {
		t.Fatalf("a stopped group attached its checks: %v", got)
	}
	p.AttachChecks(map[string]upstream.CheckPolicy{"c": c.Policy})
	s := p.Server(false, 0)
	if got, _ := s.Health(); got != upstream.HealthChecking {
		t.Fatalf("health %v before the first check", got)
	}
	c.CheckOnce(context.Background())
	if got, _ := s.Health(); got != upstream.HealthUnhealthy {
		t.Fatalf("health %v after a failed first check", got)
	}
	a.healthy.Store(true)
	c.CheckOnce(context.Background())
	if got, _ := s.Health(); got != upstream.HealthHealthy {
		t.Fatalf("health %v after a passed check", got)
	}
}

// TestStopLeavesNoGoroutine: Stop cuts checks in progress short and waits
// for every goroutine.
func TestStopLeavesNoGoroutine(t *testing.T) {
	silent := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // until the check hangs up
	ok := newFlipBackend(t)
	before := runtime.NumGoroutine()
	p := newPool(t, silent, ok.addr)
	c := newCheck(p)
	c.ReadTimeout = time.Minute // only Stop ends the check of silent
	c2 := newCheck(p)
	c2.Key = "c2"
	g := NewGroup([]*upstream.Pool{p}, []*Check{c, c2})
	g.Start()
	waitFor(t, func() bool { _, n := p.Server(false, 1).Health(); return n.Checks >= 4 })
	start := time.Now()
	g.Stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if got, _ := p.Server(false, 0).Health(); got != upstream.HealthHealthy {
		t.Errorf("a check cut short by Stop was recorded: %v", got)
	}
	// The servers' connection goroutines may take a moment to go.
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in time (goroutines: %d)", runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawServer is testutil.RawBackend that first drains the check's request,
// so that the client's write succeeds, then runs serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	return testutil.RawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		c.Read(buf)
		c.SetReadDeadline(time.Time{})
		serve(c)
	})
}
