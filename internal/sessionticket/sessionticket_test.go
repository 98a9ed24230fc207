package sessionticket

import (
	"crypto/tls"
	"testing"
	"time"

	"fulcrum/internal/testutil"
)

// serverConfig is a server configuration with a fixed ticket key, bounded
// to timeout, on clk.
func serverConfig(t *testing.T, clk *testutil.Clock, timeout time.Duration) *tls.Config {
	t.Helper()
	certPEM, keyPEM := testutil.SelfSigned(t, testutil.ECDSA, "localhost")
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, Time: clk.Now}
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
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, 10*time.Second))
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
				clk.Add(s.advance)
				if got := testutil.Resumed(t, addr, v, cache); got != s.want {
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
			clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
			addr := testutil.TLSByteServer(t, serverConfig(t, clk, 10*time.Second))
			cache := tls.NewLRUClientSessionCache(4)
			testutil.Resumed(t, addr, tc.v, cache)
			clk.Add(6 * time.Second)
			if !testutil.Resumed(t, addr, tc.v, cache) {
				t.Fatal("not resumed at 6 s")
			}
			clk.Add(6 * time.Second) // 12 s after the first, 6 after the resumption
			if got := testutil.Resumed(t, addr, tc.v, cache); got != tc.want {
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
	clk := testutil.NewClock(time.Unix(1_800_000_000, 0))
	long := serverConfig(t, clk, time.Minute)
	short := long.Clone()
	Bound(short, 2*time.Second)
	cache := tls.NewLRUClientSessionCache(4)
	testutil.Resumed(t, testutil.TLSByteServer(t, long), tls.VersionTLS13, cache)
	clk.Add(3 * time.Second)
	if !testutil.Resumed(t, testutil.TLSByteServer(t, short), tls.VersionTLS13, cache) {
		t.Fatal("a 60s ticket did not resume after 3 s on a 2s server")
	}
	cache = tls.NewLRUClientSessionCache(4)
	testutil.Resumed(t, testutil.TLSByteServer(t, short), tls.VersionTLS13, cache)
	clk.Add(3 * time.Second)
	if testutil.Resumed(t, testutil.TLSByteServer(t, long), tls.VersionTLS13, cache) {
		t.Fatal("a 2s ticket resumed after 3 s on a 60s server")
	}
}
