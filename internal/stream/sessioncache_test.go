package stream

import (
	"crypto/tls"
	"io"
	"sync"
	"testing"
	"time"
)

// oneSession is a client session cache of one session, which a test can
// offer again after newer ones (openssl s_client -sess_out/-sess_in).
type oneSession struct {
	mu sync.Mutex // guards s
	s  *tls.ClientSessionState
}

func (c *oneSession) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s, c.s != nil
}

func (c *oneSession) Put(_ string, s *tls.ClientSessionState) { c.mu.Lock(); c.s = s; c.mu.Unlock() }

// TestSessionCacheWithoutTickets: with ssl_session_tickets off, stream
// sessions resume from ssl_session_cache as nginx 1.22.1's did (recorded
// with "openssl s_client -sess_out/-sess_in" on its http module, whose
// OpenSSL cache the stream module shares): a shared zone serves every
// server naming it and survives a reload that keeps its name and size, not
// one that changes its size; builtin:2 holds one session; a session
// resumes until ssl_session_timeout.
func TestSessionCacheWithoutTickets(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	conf := func(size string) string {
		return `
ssl_certificate %DIR%/cert.pem; ssl_certificate_key %DIR%/key.pem;
ssl_protocols TLSv1.2 TLSv1.3;
ssl_session_tickets off;
server { listen 127.0.0.1:0 ssl; ssl_session_cache shared:S:` + size + `; return "reused=$ssl_session_reused"; }
server { listen 127.0.0.1:0 ssl; ssl_session_cache shared:S:` + size + `; return "reused=$ssl_session_reused"; }
server { listen 127.0.0.1:0 ssl; ssl_session_cache builtin:2; return "reused=$ssl_session_reused"; }
server { listen 127.0.0.1:0 ssl; ssl_session_cache shared:T:1m; ssl_session_timeout 1s; return "reused=$ssl_session_reused"; }`
	}
	p := New(Options{})
	t.Cleanup(p.Close)
	addrs, err := p.Apply(load(t, dir, conf("1m")))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, d := addrs[0].String(), addrs[1].String(), addrs[2].String(), addrs[3].String()
	resumed := func(t *testing.T, addr string, v uint16, cache tls.ClientSessionCache) bool {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
		got, err := io.ReadAll(conn) // the TLS 1.3 ticket comes before the answer
		if err != nil {
			t.Fatal(err)
		}
		did := conn.ConnectionState().DidResume
		if want := map[bool]string{true: "reused=r", false: "reused=."}[did]; string(got) != want {
			t.Fatalf("resumed %t, answer %q", did, got)
		}
		return did
	}
	versions := []uint16{tls.VersionTLS12, tls.VersionTLS13}
	kept := map[uint16]*tls.ClientSessionState{}
	for _, v := range versions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			first := &oneSession{}
			if resumed(t, a, v, first) {
				t.Fatal("the first handshake resumed")
			}
			for i, addr := range []string{a, a, b} {
				if !resumed(t, addr, v, &oneSession{s: first.s}) {
					t.Fatalf("use %d of the saved session did not resume", i+1)
				}
			}
			kept[v] = first.s
			x := &oneSession{}
			resumed(t, c, v, x)
			if !resumed(t, c, v, x) {
				t.Fatal("builtin: the session did not resume")
			}
			resumed(t, c, v, &oneSession{})
			if resumed(t, c, v, x) {
				t.Fatal("builtin:2: a session resumed after a newer one")
			}
			y := &oneSession{}
			resumed(t, d, v, y)
			made, ys := time.Now(), y.s
			if !resumed(t, d, v, &oneSession{s: ys}) {
				t.Fatal("timeout 1s: not resumed at once")
			}
			time.Sleep(time.Until(made.Add(1100 * time.Millisecond)))
			if resumed(t, d, v, &oneSession{s: ys}) {
				t.Fatal("timeout 1s: resumed 1.1 s later")
			}
		})
	}
	if _, err := p.Apply(load(t, dir, conf("1m"))); err != nil {
		t.Fatal(err)
	}
	for v, s := range kept {
		if !resumed(t, b, v, &oneSession{s: s}) {
			t.Errorf("%s: the shared zone's session did not resume after a reload", tls.VersionName(v))
		}
	}
	if _, err := p.Apply(load(t, dir, conf("2m"))); err != nil {
		t.Fatal(err)
	}
	for v, s := range kept {
		if resumed(t, a, v, &oneSession{s: s}) {
			t.Errorf("%s: a session resumed after the zone's size changed", tls.VersionName(v))
		}
	}
}
