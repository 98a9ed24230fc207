package stream

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fulcrum/internal/testutil"
	"fulcrum/internal/upstream"
)

// listenUnix starts an echo backend named name on the unix socket path:
// unlike a TCP port, the path cannot be taken by another test meanwhile,
// so a server can go away and come back at the same address.
func listenUnix(t *testing.T, name, path string) *echoBackend {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	b := &echoBackend{name: name, ln: ln}
	testutil.Serve(t, ln, b.serve)
	return b
}

// shareOf opens n sessions, one after the other, each closed once
// answered, and counts those that reached the backend named name.
func shareOf(t *testing.T, addr, name string, n int) int {
	t.Helper()
	got := 0
	for range n {
		cl := dial(t, addr)
		if strings.HasPrefix(cl.ask(t, "x"), name+" ") {
			got++
		}
		cl.c.Close()
	}
	return got
}

// waitIdle waits until every session has ended (and released its server).
func waitIdle(t *testing.T, p *Proxy) {
	t.Helper()
	waitFor(t, "the sessions to end", func() bool { return p.Sessions() == 0 })
}

// TestStreamSlowStart: NGINX Plus's slow_start= on a stream server. A
// server that comes back (a probe that succeeds after max_fails took it
// out, a health_check that passes it again, the runtime API adding it or
// taking its down off) starts at weight 0 and gets a growing share of the
// sessions until slow_start has passed: with two servers of weight 1 and a
// 100s ramp, about none at first, a third halfway, half at the end. The
// clock is the proxy's, moved by hand.
func TestStreamSlowStart(t *testing.T) {
	const ramp = "slow_start=100s"
	tests := []struct {
		name string
		// params are the ramping server's parameters besides slow_start;
		// hc is the server block's health_check, if any.
		params, hc string
		// comeBack makes the server a (on the socket path) come back,
		// ramping from the clock's now.
		comeBack func(t *testing.T, p *Proxy, clock *skewClock, addr, path string)
	}{
		{"after max_fails", "max_fails=1 fail_timeout=1s", "", func(t *testing.T, p *Proxy, clock *skewClock, addr, path string) {
			shareOf(t, addr, "a", 2) // a refuses: it fails and is out for fail_timeout
			waitIdle(t, p)
			if got := stateOf(p, "unix:"+path); !got.Unavailable {
				t.Fatalf("a after a failed connect: %+v, want unavailable", got)
			}
			listenUnix(t, "a", path)
			clock.advance(2 * time.Second) // past fail_timeout: a is probed
			waitFor(t, "a's probe", func() bool { return shareOf(t, addr, "a", 1) == 1 })
			waitIdle(t, p) // the probe's success starts the ramp
		}},
		{"after a health check", "", "health_check interval=20ms;", func(t *testing.T, p *Proxy, _ *skewClock, addr, path string) {
			waitHealth(t, p, "u", path, upstream.HealthUnhealthy)
			listenUnix(t, "a", path)
			waitHealth(t, p, "u", path, upstream.HealthHealthy)
		}},
		{"added by the API", "", "", func(t *testing.T, p *Proxy, clock *skewClock, addr, path string) {
			listenUnix(t, "a", path)
			pool, _ := p.Pool("u")
			id := stateOf(p, "unix:"+path).ID
			if err := pool.Remove(id); err != nil {
				t.Fatal(err)
			}
			set := upstream.NewSettings(upstream.NetworkUnix, path)
			set.Name, set.SlowStart = "unix:"+path, 100*time.Second
			if _, err := pool.Add(set, false, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}},
		{"down taken off by the API", "down", "", func(t *testing.T, p *Proxy, clock *skewClock, addr, path string) {
			listenUnix(t, "a", path)
			pool, _ := p.Pool("u")
			up := false
			if _, err := pool.Patch(stateOf(p, "unix:"+path).ID, upstream.ServerPatch{Down: &up}, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startEcho(t, "b")
			dir := t.TempDir()
			path := filepath.Join(dir, "a.sock")
			clock := &skewClock{}
			p := New(Options{Clock: clock.Now})
			t.Cleanup(p.Close)
			addrs, err := p.Apply(load(t, dir, fmt.Sprintf(`
upstream u { zone u 64k; server unix:%s %s %s; server %s; }
server { listen 127.0.0.1:0; proxy_pass u; proxy_connect_timeout 2s; %s }`, path, tt.params, ramp, b.addr(), tt.hc)))
			if err != nil {
				t.Fatal(err)
			}
			addr := addrs[0].String()
			tt.comeBack(t, p, clock, addr, path)

			if got := shareOf(t, addr, "a", 20); got > 1 {
				t.Errorf("just back: a got %d of 20 sessions, want about none", got)
			}
			clock.advance(50 * time.Second)
			if got := shareOf(t, addr, "a", 30); got < 7 || got > 13 {
				t.Errorf("halfway through the ramp: a got %d of 30 sessions, want about 10 (weight 1/2 against 1)", got)
			}
			clock.advance(60 * time.Second)
			if got := shareOf(t, addr, "a", 30); got < 14 || got > 16 {
				t.Errorf("after the ramp: a got %d of 30 sessions, want 15", got)
			}
		})
	}
}

// stateOf returns the state of upstream u's server at addr ("unix:..."
// for a socket).
func stateOf(p *Proxy, addr string) upstream.ServerStatus {
	for _, u := range p.Upstreams(time.Now()) {
		for _, s := range u.Servers {
			if u.Name == "u" && (s.Addr == addr || "unix:"+s.Addr == addr) {
				return s
			}
		}
	}
	return upstream.ServerStatus{ID: -1}
}

// TestRecoveredServerLiveOnConnect: nginx's stream module marks a server
// that failed live again as soon as its probe session connects, not when
// that session ends (ngx_stream_upstream_notify_round_robin_peer), so the
// sessions opened while the probe is still open go to it too. Recorded
// with nginx 1.22.1 (nginx-tests stream_upstream.t, "recovery"): upstream
// { server A fail_timeout=1s; server B backup; }, A refused one session
// (B served it), A came back, 2s later six sessions opened one after the
// other and all held open all went to A. UDP sessions are not marked so.
func TestRecoveredServerLiveOnConnect(t *testing.T) {
	b := startEcho(t, "b")
	dir := t.TempDir()
	path := filepath.Join(dir, "a.sock")
	clock := &skewClock{}
	p := New(Options{Clock: clock.Now})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, dir, fmt.Sprintf(`
upstream u { server unix:%s fail_timeout=1s; server %s backup; }
server { listen 127.0.0.1:0; proxy_pass u; proxy_connect_timeout 2s; }`, path, b.addr())))
	if err != nil {
		t.Fatal(err)
	}
	addr := addrs[0].String()
	if got := shareOf(t, addr, "a", 2); got != 0 {
		t.Fatalf("a is not listening, yet got %d sessions", got)
	}
	waitIdle(t, p)
	listenUnix(t, "a", path)
	clock.advance(2 * time.Second) // past fail_timeout: a is probed
	for i := range 4 {
		cl := dial(t, addr) // held open until the test ends
		if got := cl.ask(t, "x"); got != "a x" {
			t.Fatalf("session %d while the probe is open: %q, want %q", i+1, got, "a x")
		}
	}
}
