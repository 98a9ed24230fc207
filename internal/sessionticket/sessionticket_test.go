package sessionticket

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// clock is a settable time for the server's tls.Config.
type clock struct {
	mu sync.Mutex // guards now
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// server accepts TLS connections on 127.0.0.1 with cfg until the test ends;
// each connection writes one byte (so that TLS 1.3 tickets reach the client
// before it reads) and closes.
func server(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Serve(t, ln, func(c net.Conn) { c.Write([]byte("x")) })
	return ln.Addr().String()
}

// resumed makes one handshake to addr with the client's session cache and
// reports whether it resumed.
func resumed(t *testing.T, addr string, version uint16, cache tls.ClientSessionCache) bool {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost", MinVersion: version, MaxVersion: version, ClientSessionCache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.ReadAll(c); err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().DidResume
}

// serverConfig is a server configuration with a fixed ticket key, bounded
// to timeout, on clk.
func serverConfig(t *testing.T, clk *clock, timeout time.Duration) *tls.Config {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "localhost")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, Time: clk.now}
	cfg.SetSessionTicketKeys([][32]byte{{1}})
	Bound(cfg, timeout)
	return cfg
}

// TestBound: a session resumes within the timeout and not after, in TLS
// 1.2 and 1.3 (nginx 1.22.1, ssl_session_timeout 2s: "Reused" at once,
// "New" 4 s later, in both versions).
func TestBound(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			clk := &clock{t: time.Unix(1_800_000_000, 0)}
			addr := server(t, serverConfig(t, clk, 10*time.Second))
			cache := tls.NewLRUClientSessionCache(4)
			steps := []struct {
				advance time.Duration
				want    bool
			}{
				{0, false},                // the full handshake that makes the session
				{11 * time.Second, false}, // 11 s old: a full handshake, a new session
				{9 * time.Second, true},   // the new one, 9 s old: resumes
			}
			for i, s := range steps {
				clk.add(s.advance)
				if got := resumed(t, addr, v, cache); got != s.want {
					t.Fatalf("step %d: resumed %t, want %t", i, got, s.want)
				}
			}
		})
	}
}

// TestBoundAfterResumption: TLS 1.3 tickets issued by a resumption start a
// new lifetime (OpenSSL's, seen with nginx 1.22.1: a ticket saved from a
// resumption 1.2 s after the first handshake still resumed 2.7 s after it
// with ssl_session_timeout 2s); in TLS 1.2 the session keeps its first age
// (OpenSSL sends no new ticket on a resumption; crypto/tls sends one that
// must not extend it).
func TestBoundAfterResumption(t *testing.T) {
	for _, tc := range []struct {
		v    uint16
		want bool
	}{{tls.VersionTLS12, false}, {tls.VersionTLS13, true}} {
		t.Run(tls.VersionName(tc.v), func(t *testing.T) {
			clk := &clock{t: time.Unix(1_800_000_000, 0)}
			addr := server(t, serverConfig(t, clk, 10*time.Second))
			cache := tls.NewLRUClientSessionCache(4)
			resumed(t, addr, tc.v, cache)
			clk.add(6 * time.Second)
			if !resumed(t, addr, tc.v, cache) {
				t.Fatal("not resumed at 6 s")
			}
			clk.add(6 * time.Second) // 12 s after the first, 6 after the resumption
			if got := resumed(t, addr, tc.v, cache); got != tc.want {
				t.Fatalf("resumed %t 12 s after the session was made, want %t", got, tc.want)
			}
		})
	}
}

// TestTimeoutTravels: a ticket keeps the timeout it was made with, so a
// server whose timeout is now shorter (a reload, same keys) still resumes
// it (nginx 1.22.1: a ticket made with ssl_session_timeout 60s resumed 3 s
// after a reload to 2s), and a ticket made with a short one expires on a
// server whose timeout is now longer.
func TestTimeoutTravels(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	long := serverConfig(t, clk, time.Minute)
	short := long.Clone()
	Bound(short, 2*time.Second)
	cache := tls.NewLRUClientSessionCache(4)
	resumed(t, server(t, long), tls.VersionTLS13, cache)
	clk.add(3 * time.Second)
	if !resumed(t, server(t, short), tls.VersionTLS13, cache) {
		t.Fatal("a 60s ticket did not resume after 3 s on a 2s server")
	}
	cache = tls.NewLRUClientSessionCache(4)
	resumed(t, server(t, short), tls.VersionTLS13, cache)
	clk.add(3 * time.Second)
	if resumed(t, server(t, long), tls.VersionTLS13, cache) {
		t.Fatal("a 2s ticket resumed after 3 s on a 60s server")
	}
}
