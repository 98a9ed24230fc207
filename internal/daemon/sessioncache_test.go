package daemon_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// sessionStore is a client session cache of one session, which a test can
// offer again after newer ones (openssl s_client -sess_out/-sess_in).
type sessionStore struct {
	mu sync.Mutex // guards s
	s  *tls.ClientSessionState
}

func (c *sessionStore) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s, c.s != nil
}

func (c *sessionStore) Put(_ string, s *tls.ClientSessionState) { c.mu.Lock(); c.s = s; c.mu.Unlock() }

// resumedAt makes one request to addr with TLS version v and the client's
// session cache; it reports whether the handshake resumed, checked against
// the server's $ssl_session_reused.
func resumedAt(t *testing.T, addr string, v uint16, cache tls.ClientSessionCache) bool {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MinVersion: v, MaxVersion: v, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c) // the TLS 1.3 ticket comes before the answer
	if err != nil {
		t.Fatal(err)
	}
	did := c.ConnectionState().DidResume
	want := map[bool]string{true: "reused=r", false: "reused=."}[did]
	if !strings.HasSuffix(string(b), want) {
		t.Fatalf("resumed %t, answer %q", did, b)
	}
	return did
}

// TestSessionCacheWithoutTickets: with ssl_session_tickets off, sessions
// resume from ssl_session_cache, as nginx 1.22.1 did (recorded with
// "openssl s_client -sess_out/-sess_in", TLS 1.2 and 1.3 alike): a shared
// zone serves every server that names it with the same certificates (not
// one with another certificate) and survives a reload that keeps its name
// and size, not one that changes its size; a builtin cache is
// the server's own, bounded (builtin:2 held one session) and lost on a
// reload; a session resumes until ssl_session_timeout.
func TestSessionCacheWithoutTickets(t *testing.T) {
	t.Parallel() // mostly waiting; its own daemon, ports and files
	dir := t.TempDir()
	cert, key := testutil.WriteCert(t, dir, "site", testutil.ECDSA, "localhost")
	otherCert, otherKey := testutil.WriteCert(t, dir, "other", testutil.ECDSA, "localhost")
	addrs := testutil.FreeAddrs(t, 5)
	a, b, c, d, e := addrs[0], addrs[1], addrs[2], addrs[3], addrs[4]
	path := filepath.Join(dir, "fulcrum.conf")
	write := func(sSize string) {
		t.Helper()
		conf := fmt.Sprintf(`pid %[1]s/f.pid;
error_log %[1]s/error.log info;
http {
  access_log off;
  ssl_certificate %[2]s; ssl_certificate_key %[3]s;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets off;
  server { listen %[4]s ssl; ssl_session_cache shared:S:%[8]s; return 200 "reused=$ssl_session_reused"; }
  server { listen %[5]s ssl; ssl_session_cache shared:S:%[8]s; return 200 "reused=$ssl_session_reused"; }
  server { listen %[6]s ssl; ssl_session_cache builtin:2; return 200 "reused=$ssl_session_reused"; }
  server { listen %[7]s ssl; ssl_session_cache shared:T:1m; ssl_session_timeout 1s; return 200 "reused=$ssl_session_reused"; }
  server { listen %[9]s ssl; ssl_certificate %[10]s; ssl_certificate_key %[11]s; ssl_session_cache shared:S:%[8]s; return 200 "reused=$ssl_session_reused"; }
}
`, dir, cert, key, a, b, c, d, sSize, e, otherCert, otherKey)
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1m")
	_, sigs := runConfigFile(t, path)
	versions := []uint16{tls.VersionTLS12, tls.VersionTLS13}
	type sessions struct{ shared, builtin *sessionStore }
	kept := map[uint16]sessions{}
	for _, v := range versions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			// A shared zone: the session resumes, twice from the same
			// saved one, and on the other server of the zone.
			first := &sessionStore{}
			if resumedAt(t, a, v, first) {
				t.Fatal("the first handshake resumed")
			}
			saved := first.s
			for i, addr := range []string{a, a, b} {
				if !resumedAt(t, addr, v, &sessionStore{s: saved}) {
					t.Fatalf("use %d of the saved session did not resume", i+1)
				}
			}
			if resumedAt(t, e, v, &sessionStore{s: saved}) {
				t.Fatal("resumed on a server of the zone with another certificate")
			}
			// builtin:2 holds one session: the next pushes it out.
			x := &sessionStore{}
			resumedAt(t, c, v, x)
			if !resumedAt(t, c, v, x) {
				t.Fatal("builtin: the session did not resume")
			}
			resumedAt(t, c, v, &sessionStore{})
			if resumedAt(t, c, v, x) {
				t.Fatal("builtin:2: a session resumed after a newer one")
			}
			// ssl_session_timeout 1s.
			y := &sessionStore{}
			resumedAt(t, d, v, y)
			made := time.Now()
			ys := y.s
			if !resumedAt(t, d, v, &sessionStore{s: ys}) {
				t.Fatal("timeout 1s: not resumed at once")
			}
			time.Sleep(time.Until(made.Add(1100 * time.Millisecond)))
			if resumedAt(t, d, v, &sessionStore{s: ys}) {
				t.Fatal("timeout 1s: resumed 1.1 s later")
			}
			b := &sessionStore{}
			resumedAt(t, c, v, b)
			kept[v] = sessions{shared: &sessionStore{s: saved}, builtin: b}
		})
	}
	reloadAndWait(t, sigs, dir)
	for _, v := range versions {
		if k, ok := kept[v]; ok {
			if !resumedAt(t, b, v, &sessionStore{s: k.shared.s}) {
				t.Errorf("%s: the shared zone's session did not resume after a reload", tls.VersionName(v))
			}
			if resumedAt(t, c, v, k.builtin) {
				t.Errorf("%s: the builtin cache's session resumed after a reload", tls.VersionName(v))
			}
		}
	}
	write("2m")
	reloadAndWait(t, sigs, dir)
	for _, v := range versions {
		if k, ok := kept[v]; ok && resumedAt(t, a, v, &sessionStore{s: k.shared.s}) {
			t.Errorf("%s: a session resumed after the zone's size changed", tls.VersionName(v))
		}
	}
}
