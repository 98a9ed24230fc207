package sessioncache

import (
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// serverConfig is a server configuration with tickets off (nginx's
// ssl_session_tickets off) keeping its sessions in cache for timeout.
func serverConfig(t *testing.T, clk *testutil.Clock, cache *Cache, timeout time.Duration) *tls.Config {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "localhost")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, Time: clk.Now, SessionTicketsDisabled: true}
	cache.Serve(cfg, timeout, Context{})
	return cfg
}

// saved is a client session cache that keeps what it was given, so that a
// test can offer the same saved session twice (openssl s_client -sess_in).
type saved struct {
	mu sync.Mutex // guards s
	s  *tls.ClientSessionState
}

func (c *saved) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s, c.s != nil
}
func (c *saved) Put(_ string, s *tls.ClientSessionState) { c.mu.Lock(); c.s = s; c.mu.Unlock() }

// frozen offers the saved session of from, and keeps nothing new.
type frozen struct{ s *tls.ClientSessionState }

func (c frozen) Get(string) (*tls.ClientSessionState, bool) { return c.s, c.s != nil }
func (frozen) Put(string, *tls.ClientSessionState)          {}

var versions = []uint16{tls.VersionTLS12, tls.VersionTLS13}

// TestResumes: with tickets off, a session resumes from the cache, the
// same saved session any number of times (nginx 1.22.1 with "ssl_session_tickets
// off": a session saved with -sess_out resumed twice, TLS 1.2 and 1.3),
// and the ticket is only the identifier.
func TestResumes(t *testing.T) {
	for _, v := range versions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			c := New(10, 0)
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Minute))
			first := &saved{}
			if testutil.Resumed(t, addr, v, first) {
				t.Fatal("the first handshake resumed")
			}
			if first.s == nil {
				t.Fatal("no ticket was sent")
			}
			for i := range 2 {
				if !testutil.Resumed(t, addr, v, frozen{first.s}) {
					t.Fatalf("use %d of the saved session did not resume", i+1)
				}
			}
			ticket, _, err := first.s.ResumptionState()
			if err != nil || len(ticket) != idLen {
				t.Fatalf("ticket of %d bytes (%v), want the %d-byte identifier", len(ticket), err, idLen)
			}
		})
	}
}

// TestNewSessions: a TLS 1.3 handshake stores a new session each time; a
// TLS 1.2 resumption stores none and hands back the same identifier.
func TestNewSessions(t *testing.T) {
	for _, tc := range []struct {
		v    uint16
		want int
	}{{tls.VersionTLS12, 1}, {tls.VersionTLS13, 3}} {
		t.Run(tls.VersionName(tc.v), func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			c := New(10, 0)
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Minute))
			cache := tls.NewLRUClientSessionCache(4)
			for range 3 {
				testutil.Resumed(t, addr, tc.v, cache)
			}
			if got := c.Len(); got != tc.want {
				t.Fatalf("%d sessions stored, want %d", got, tc.want)
			}
		})
	}
}

// TestTimeout: a session resumes until its timeout from the full handshake
// that made it; a TLS 1.3 resumption's new session starts a new lifetime,
// a TLS 1.2 resumption keeps the first (nginx 1.22.1, ssl_session_timeout
// 6s: the first session "New" 7.5 s after it was made in both versions, the
// one saved from a resumption at 3 s "Reused" in TLS 1.3 only).
func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		v              uint16
		fromResumption bool
	}{{tls.VersionTLS12, false}, {tls.VersionTLS13, true}} {
		t.Run(tls.VersionName(tc.v), func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, New(10, 0), 6*time.Second))
			first := &saved{}
			testutil.Resumed(t, addr, tc.v, first)
			clk.Add(3 * time.Second)
			later := &saved{s: first.s}
			if !testutil.Resumed(t, addr, tc.v, later) {
				t.Fatal("not resumed at 3 s")
			}
			clk.Add(4500 * time.Millisecond)
			if testutil.Resumed(t, addr, tc.v, frozen{first.s}) {
				t.Fatal("the first session resumed 7.5 s after it was made")
			}
			if got := testutil.Resumed(t, addr, tc.v, frozen{later.s}); got != tc.fromResumption {
				t.Fatalf("the session saved from the resumption: resumed %t, want %t", got, tc.fromResumption)
			}
		})
	}
}

// TestBound: a full cache drops its oldest session, by creation (nginx
// 1.22.1 with builtin:4, which holds three: A, B, C made, A resumed, D
// made; then A was "New" and B, C, D "Reused").
func TestBound(t *testing.T) {
	for _, v := range versions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			c := New(BuiltinSessions(4), 4)
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Minute))
			s := map[string]*saved{}
			for _, name := range []string{"A", "B", "C", "A+", "D"} {
				if name == "A+" {
					if !testutil.Resumed(t, addr, v, frozen{s["A"].s}) {
						t.Fatal("A did not resume")
					}
					continue
				}
				s[name] = &saved{}
				testutil.Resumed(t, addr, v, s[name])
			}
			if v == tls.VersionTLS13 {
				return // A's resumption made a session that pushed B out too
			}
			for _, tc := range []struct {
				name string
				want bool
			}{{"D", true}, {"C", true}, {"B", true}, {"A", false}} {
				if got := testutil.Resumed(t, addr, v, frozen{s[tc.name].s}); got != tc.want {
					t.Errorf("%s: resumed %t, want %t", tc.name, got, tc.want)
				}
			}
		})
	}
}

// TestSessions: the sizes of nginx's caches in sessions.
func TestSessions(t *testing.T) {
	for _, tc := range []struct {
		got, want int
	}{
		{SharedSessions(10 << 20), 40000},
		{SharedSessions(32 << 10), 125},
		{SharedSessions(1), 1},
		{BuiltinSessions(20480), 20479},
		{BuiltinSessions(1), 1},
		{BuiltinSessions(0), 20479},
		{BuiltinSessions(2), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("got %d, want %d", tc.got, tc.want)
		}
	}
}

// TestZones: a zone keeps its cache when its size is unchanged, and starts
// empty when it changed (nginx 1.22.1: a session resumed after a reload,
// not after one that changed the zone's size).
func TestZones(t *testing.T) {
	old := Zones{}
	a := old.Zone(nil, "A", 1<<20)
	if old.Zone(nil, "A", 1<<20) != a {
		t.Fatal("a second server naming the zone got another cache")
	}
	b := old.Zone(nil, "B", 1<<20)
	next := Zones{}
	if next.Zone(old, "A", 1<<20) != a {
		t.Fatal("a reload did not keep the zone")
	}
	if next.Zone(old, "B", 2<<20) == b {
		t.Fatal("a reload kept the zone whose size changed")
	}
}

// TestContext: a session resumes only on a server of the context that made
// it (nginx 1.22.1: a session of one server was "New" on a server of the
// same zone with another certificate, "Reused" on one with the same).
func TestContext(t *testing.T) {
	for _, v := range versions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			c := New(10, 0)
			made := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Minute))
			same := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Minute))
			cfg := serverConfig(t, clk, c, time.Minute)
			c.Serve(cfg, time.Minute, Context{1})
			other := testutil.TLSByteServer(t, cfg)
			s := &saved{}
			testutil.Resumed(t, made, v, s)
			if !testutil.Resumed(t, same, v, frozen{s.s}) {
				t.Error("not resumed on a server of the same context")
			}
			if testutil.Resumed(t, other, v, frozen{s.s}) {
				t.Error("resumed on a server of another context")
			}
		})
	}
}

// TestExpiredGo: each new session first drops up to two expired ones at
// the old end, as nginx's ngx_ssl_expire_sessions.
func TestExpiredGo(t *testing.T) {
	clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
	c := New(10, 0)
	addr := testutil.TLSByteServer(t, serverConfig(t, clk, c, time.Second))
	for range 3 {
		testutil.Resumed(t, addr, tls.VersionTLS12, &saved{})
	}
	clk.Add(2 * time.Second)
	testutil.Resumed(t, addr, tls.VersionTLS12, &saved{})
	if got := c.Len(); got != 2 {
		t.Fatalf("%d sessions kept, want 2 (one expired left, one new)", got)
	}
}
